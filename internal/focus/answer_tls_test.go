package focus

import (
	"errors"
	"testing"

	"github.com/parley-im/parley/sdp"
)

func msrpOffer(proto, path string) *sdp.Session {
	s, err := sdp.Parse([]byte("v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=message 9 " + proto + " *\r\na=accept-types:message/cpim\r\na=path:" + path + "\r\na=setup:active\r\n"))
	if err != nil {
		panic(err)
	}
	return s
}

// pickMSRP takes a TCP/TLS/MSRP stream when the switch listens for msrps,
// and only such a stream in a room that requires TLS (issue 15).
func TestPickMSRPTLS(t *testing.T) {
	plain := msrpOffer("TCP/MSRP", "msrp://127.0.0.1:9/abc;tcp")
	secure := msrpOffer("TCP/TLS/MSRP", "msrps://127.0.0.1:9/abc;tcp")
	for _, c := range []struct {
		name                 string
		offer                *sdp.Session
		secureOK, requireTLS bool
		want                 error
		secure               bool
	}{
		{"plain", plain, true, false, nil, false},
		{"secure", secure, true, false, nil, true},
		{"secure without msrps listener", secure, false, false, errNoTLS, false},
		{"plain in a TLS room", plain, true, true, errTLSRequired, false},
		{"secure in a TLS room", secure, true, true, nil, true},
		{"msrps path on TCP/MSRP", msrpOffer("TCP/MSRP", "msrps://127.0.0.1:9/abc;tcp"), true, false, errSchemeProto, false},
		{"msrp path on TCP/TLS/MSRP", msrpOffer("TCP/TLS/MSRP", "msrp://127.0.0.1:9/abc;tcp"), true, false, errSchemeProto, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			info, err := pickMSRP(c.offer, c.secureOK, c.requireTLS)
			if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
				t.Fatalf("pickMSRP: %v, want %v", err, c.want)
			}
			if err == nil && info.path[len(info.path)-1].Secure != c.secure {
				t.Errorf("path %v: secure %v, want %v", info.path, !c.secure, c.secure)
			}
		})
	}
}
