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
			info, err := pickMSRP(c.offer, msrpTransports{tls: c.secureOK}, c.requireTLS)
			if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
				t.Fatalf("pickMSRP: %v, want %v", err, c.want)
			}
			if err == nil && info.path[len(info.path)-1].Secure != c.secure {
				t.Errorf("path %v: secure %v, want %v", info.path, !c.secure, c.secure)
			}
		})
	}
}

// pickMSRP takes a WebSocket client's stream (a ;ws endpoint URI, its
// host .invalid, RFC 7977 §5.2.1; TCP/TLS/MSRP with msrps or TCP/MSRP
// with msrp, §5.3) when the HTTPS listener is on, and declines it
// otherwise, whatever the msrps listener.
func TestPickMSRPWebSocket(t *testing.T) {
	wss := msrpOffer("TCP/TLS/MSRP", "msrps://a1b2c3.invalid:2855/wsabc;ws")
	ws := msrpOffer("TCP/MSRP", "msrp://a1b2c3.invalid:2855/wsabc;ws")
	relayed := msrpOffer("TCP/TLS/MSRP", "msrps://relay.example.com:2855/r;tcp msrps://a1b2c3.invalid:2855/wsabc;ws")
	for _, c := range []struct {
		name       string
		offer      *sdp.Session
		avail      msrpTransports
		requireTLS bool
		want       error
	}{
		{"wss", wss, msrpTransports{ws: true}, false, nil},
		{"ws", ws, msrpTransports{ws: true}, false, nil},
		{"wss behind a relay", relayed, msrpTransports{ws: true}, false, errWSRelayed},
		{"wss without HTTPS", wss, msrpTransports{tls: true}, false, errNoWS},
		{"ws without HTTPS", ws, msrpTransports{tls: true}, false, errNoWS},
		{"wss in a TLS room", wss, msrpTransports{ws: true}, true, nil},
		{"ws in a TLS room", ws, msrpTransports{ws: true}, true, errTLSRequired},
		{"msrps ;ws on TCP/MSRP", msrpOffer("TCP/MSRP", "msrps://a1b2c3.invalid:2855/wsabc;ws"), msrpTransports{ws: true}, false, errSchemeProto},
		{"a TLS offer still needs msrps", msrpOffer("TCP/TLS/MSRP", "msrps://127.0.0.1:9/abc;tcp"), msrpTransports{ws: true}, false, errNoTLS},
	} {
		t.Run(c.name, func(t *testing.T) {
			info, err := pickMSRP(c.offer, c.avail, c.requireTLS)
			if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
				t.Fatalf("pickMSRP: %v, want %v", err, c.want)
			}
			if err == nil && info.path[len(info.path)-1].Transport != "ws" {
				t.Errorf("path %v: want the ;ws URI", info.path)
			}
		})
	}
}
