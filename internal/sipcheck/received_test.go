package sipcheck

import (
	"net/netip"
	"strings"
	"testing"
)

func TestReceived(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	req := func(via string) string {
		return "OPTIONS sip:a@b SIP/2.0\r\n" + via + "\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2\r\nCall-ID: x\r\n\r\n"
	}
	tests := []struct {
		name, in, want string
		source         netip.Addr
	}{
		{"same host", req("Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1"), "", lo},
		{"other address", req("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1"), req("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;received=127.0.0.1"), lo},
		{"domain name", req("Via: SIP/2.0/UDP pc.example.com;rport;branch=z9hG4bK1"), req("Via: SIP/2.0/UDP pc.example.com;rport;branch=z9hG4bK1;received=127.0.0.1"), lo},
		{"no params", req("Via: SIP/2.0/UDP example.com:5070"), req("Via: SIP/2.0/UDP example.com:5070;received=127.0.0.1"), lo},
		{"forged received", req("Via: SIP/2.0/UDP 127.0.0.1;received=198.51.100.7;branch=z9hG4bK1"), req("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1"), lo},
		{"forged received, other host", req("Via: SIP/2.0/UDP 8.8.8.8;RECEIVED=8.8.8.8;branch=z9hG4bK1"), req("Via: SIP/2.0/UDP 8.8.8.8;branch=z9hG4bK1;received=127.0.0.1"), lo},
		{"two values on a line", req("v: SIP/2.0/UDP 192.0.2.1 ;branch=z9hG4bK1 , SIP/2.0/UDP 127.0.0.1"), req("v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;received=127.0.0.1 , SIP/2.0/UDP 127.0.0.1"), lo},
		{"IPv6", req("Via: SIP/2.0/UDP [::1]:5060;branch=z9hG4bK1"), "", netip.MustParseAddr("::1")},
		{"IPv4-mapped source", req("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1"), "", netip.MustParseAddr("::ffff:127.0.0.1")},
		{"response", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1\r\n\r\n", "", lo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(Received(nil, []byte(tt.in), tt.source))
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if got != want {
				t.Fatalf("Received:\n%q\nwant\n%q", got, want)
			}
		})
	}
	// The second Via is never touched.
	in := req("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1")
	if out := string(Received(nil, []byte(in), lo)); !strings.Contains(out, "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2\r\n") {
		t.Fatalf("second Via changed: %q", out)
	}
}
