package sdp

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckMSRPConsistency(t *testing.T) {
	tests := []struct {
		name    string
		session string // session-level c= line, or ""
		mline   string
		attrs   []string
		want    *InconsistencyError // nil = consistent
		wantErr error               // a non-inconsistency error
	}{
		{name: "consistent", session: "c=IN IP4 h.example.com", mline: "m=message 7654 TCP/MSRP *",
			attrs: []string{"a=path:msrp://h.example.com:7654/s;tcp"}},
		{name: "host case", session: "c=IN IP4 H.Example.COM.", mline: "m=message 7654 TCP/MSRP *",
			attrs: []string{"a=path:msrp://h.example.com:7654/s;tcp"}},
		{name: "ip", session: "c=IN IP4 192.0.2.1", mline: "m=message 7654 TCP/MSRP *",
			attrs: []string{"a=path:msrp://192.0.2.1:7654/s;tcp"}},
		{name: "ipv6 forms", session: "c=IN IP6 2001:db8:0::1", mline: "m=message 7654 TCP/MSRP *",
			attrs: []string{"a=path:msrp://[2001:db8::1]:7654/s;tcp"}},
		{name: "media-level c= wins", session: "c=IN IP4 192.0.2.99", mline: "m=message 7654 TCP/MSRP *",
			attrs: []string{"c=IN IP4 192.0.2.1", "a=path:msrp://192.0.2.1:7654/s;tcp"}},
		{name: "rightmost URI counts", session: "c=IN IP4 client.example.com", mline: "m=message 4000 TCP/TLS/MSRP *",
			attrs: []string{"a=path:msrps://relay.example.com:2855/r;tcp msrps://client.example.com:4000/c;tcp"}},
		{name: "port mismatch", session: "c=IN IP4 h", mline: "m=message 7655 TCP/MSRP *",
			attrs: []string{"a=path:msrp://h:7654/s;tcp"},
			want:  &InconsistencyError{Field: "port", Want: "7654", Got: "7655"}},
		{name: "leftmost port does not count", session: "c=IN IP4 client", mline: "m=message 2855 TCP/TLS/MSRP *",
			attrs: []string{"a=path:msrps://relay:2855/r;tcp msrps://client:4000/c;tcp"},
			want:  &InconsistencyError{Field: "port", Want: "4000", Got: "2855"}},
		{name: "address mismatch", session: "c=IN IP4 192.0.2.2", mline: "m=message 7654 TCP/MSRP *",
			attrs: []string{"a=path:msrp://192.0.2.1:7654/s;tcp"},
			want:  &InconsistencyError{Field: "address", Want: "192.0.2.1", Got: "192.0.2.2"}},
		{name: "media c= mismatch although session c= matches", session: "c=IN IP4 192.0.2.1", mline: "m=message 7654 TCP/MSRP *",
			attrs: []string{"c=IN IP4 192.0.2.2", "a=path:msrp://192.0.2.1:7654/s;tcp"},
			want:  &InconsistencyError{Field: "address", Want: "192.0.2.1", Got: "192.0.2.2"}},
		{name: "no c=", mline: "m=message 7654 TCP/MSRP *",
			attrs: []string{"a=path:msrp://192.0.2.1:7654/s;tcp"},
			want:  &InconsistencyError{Field: "address", Want: "192.0.2.1"}},
		{name: "port 0 rejected stream", session: "c=IN IP4 192.0.2.2", mline: "m=message 0 TCP/MSRP *"},
		{name: "setup active port 9", session: "c=IN IP4 h", mline: "m=message 9 TCP/MSRP *",
			attrs: []string{"a=setup:active", "a=path:msrp://h:7654/s;tcp"}},
		{name: "setup passive port 9", session: "c=IN IP4 h", mline: "m=message 9 TCP/MSRP *",
			attrs: []string{"a=setup:passive", "a=path:msrp://h:7654/s;tcp"},
			want:  &InconsistencyError{Field: "port", Want: "7654", Got: "9"}},
		{name: "setup active other port", session: "c=IN IP4 h", mline: "m=message 10 TCP/MSRP *",
			attrs: []string{"a=setup:active", "a=path:msrp://h:7654/s;tcp"},
			want:  &InconsistencyError{Field: "port", Want: "7654", Got: "10"}},
		{name: "setup active port 9 still checks c=", session: "c=IN IP4 other", mline: "m=message 9 TCP/MSRP *",
			attrs: []string{"a=setup:active", "a=path:msrp://h:7654/s;tcp"},
			want:  &InconsistencyError{Field: "address", Want: "h", Got: "other"}},
		{name: "websocket .invalid", session: "c=IN IP4 192.0.2.7", mline: "m=message 1234 TCP/TLS/MSRP *",
			attrs: []string{"a=path:msrps://a.example.com:2855/jui787s2f;tcp msrps://df7jal23ls0d.invalid:2855/98cjs;ws"}},
		{name: "websocket .INVALID. without c=", mline: "m=message 2855 TCP/TLS/MSRP *",
			attrs: []string{"a=path:msrps://a.example.com:2855/j;tcp msrps://x.INVALID.:2855/c;ws"}},
		{name: ".invalid only on the relay", session: "c=IN IP4 192.0.2.7", mline: "m=message 2855 TCP/TLS/MSRP *",
			attrs: []string{"a=path:msrps://relay.invalid:2855/j;tcp msrps://client.example.com:2855/c;tcp"},
			want:  &InconsistencyError{Field: "address", Want: "client.example.com", Got: "192.0.2.7"}},
		{name: "invalid is not a suffix of a label", session: "c=IN IP4 192.0.2.7", mline: "m=message 2855 TCP/MSRP *",
			attrs: []string{"a=path:msrp://notinvalid:2855/c;tcp"},
			want:  &InconsistencyError{Field: "address", Want: "notinvalid", Got: "192.0.2.7"}},
		{name: "no path", session: "c=IN IP4 h", mline: "m=message 7654 TCP/MSRP *", wantErr: ErrNoPath},
		{name: "bad path", session: "c=IN IP4 h", mline: "m=message 7654 TCP/MSRP *",
			attrs: []string{"a=path:msrp://h/s;tcp"}, wantErr: ErrInvalidPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := minimal
			if tt.session != "" {
				in += tt.session + "\n"
			}
			in += tt.mline + "\n" + strings.Join(tt.attrs, "\n")
			s, err := Parse([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			err = CheckMSRPConsistency(s, s.Media[0])
			var ie *InconsistencyError
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) || errors.As(err, &ie) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.want == nil:
				if err != nil {
					t.Errorf("err = %v, want nil", err)
				}
			default:
				if !errors.As(err, &ie) || *ie != *tt.want {
					t.Errorf("err = %#v, want %#v", err, tt.want)
				} else if !strings.HasPrefix(err.Error(), "sdp: ") {
					t.Errorf("error %q lacks the sdp: prefix", err)
				}
			}
		})
	}
}

func TestInconsistencyErrorString(t *testing.T) {
	for e, want := range map[InconsistencyError]string{
		{Field: "port", Want: "1", Got: "2"}:    `sdp: MSRP port mismatch: path endpoint has "1", SDP has "2"`,
		{Field: "address", Want: "h", Got: "g"}: `sdp: MSRP address mismatch: path endpoint has "h", SDP has "g"`,
		{Field: "address", Want: "h"}:           `sdp: MSRP stream has no c= line; the path endpoint host is "h"`,
	} {
		if got := e.Error(); got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	}
}
