package source

import (
	"net/netip"
	"testing"
)

// Every address of one IPv6 /64 is one source; IPv4 addresses are
// themselves, mapped or not.
func TestKey(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"192.0.2.1", "192.0.2.2", false},
		{"192.0.2.1", "::ffff:192.0.2.1", true},
	} {
		a, b := Key(netip.MustParseAddr(tc.a)), Key(netip.MustParseAddr(tc.b))
		if (a == b) != tc.same {
			t.Errorf("%s and %s: same source %v, want %v", tc.a, tc.b, a == b, tc.same)
		}
	}
}
