package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// InconsistencyError reports an MSRP m-line whose port or connection
// address disagrees with the endpoint URI (the rightmost) of its a=path
// (RFC 4975 §8). Field is "port" or "address"; Want is the value taken
// from the path URI, Got the value in the SDP ("" when there is no c=).
type InconsistencyError struct {
	Field string
	Want  string
	Got   string
}

func (e *InconsistencyError) Error() string {
	if e.Field == "address" && e.Got == "" {
		return fmt.Sprintf("sdp: MSRP stream has no c= line; the path endpoint host is %q", e.Want)
	}
	return fmt.Sprintf("sdp: MSRP %s mismatch: path endpoint has %q, SDP has %q", e.Field, e.Want, e.Got)
}

// CheckMSRPConsistency checks the rules of RFC 4975 §8 that tie an MSRP
// m-line to its a=path: the m-line port must equal the port of the
// rightmost path URI, and the connection address that applies to m (its c=,
// else the session's) must equal that URI's host (IP addresses compared as
// addresses, names case-insensitively). Exceptions:
//
//   - a rejected stream (port 0) is not checked at all;
//   - with a=setup:active the m-line port may be 9, the discard port
//     (RFC 6135 §4.2.2);
//   - a rightmost URI whose host ends in ".invalid" (a WebSocket client
//     behind its MSRP WebSocket server, RFC 7977 §5.2) is exempt from both
//     checks: nobody can connect to it, so neither c= nor the m-line port
//     carries information, and RFC 7977's own example offers m= port 1234
//     with an endpoint URI on port 2855.
//
// A mismatch is reported as a *InconsistencyError; a path error as
// returned by Media.Path. The caller decides whether to reject the offer
// or only to log: MSRP endpoints connect by a=path, never by c= and m=.
func CheckMSRPConsistency(s *Session, m *Media) error {
	if m.Port == 0 {
		return nil
	}
	path, err := m.Path()
	if err != nil {
		return err
	}
	end := path[len(path)-1]
	if isInvalidHost(end.Host) {
		return nil
	}
	if m.Port != end.Port && !(m.Port == 9 && m.Setup() == SetupActive) {
		return &InconsistencyError{Field: "port", Want: strconv.Itoa(end.Port), Got: strconv.Itoa(m.Port)}
	}
	c := s.ConnectionFor(m)
	if c == nil {
		return &InconsistencyError{Field: "address", Want: end.Host}
	}
	if !sameHost(c.Host(), end.Host) {
		return &InconsistencyError{Field: "address", Want: end.Host, Got: c.Host()}
	}
	return nil
}

// isInvalidHost reports whether host is in the ".invalid" special-use
// domain (RFC 6761), as used by WebSocket clients (RFC 7977 §5.2).
func isInvalidHost(host string) bool {
	h := strings.TrimSuffix(host, ".")
	const suffix = ".invalid"
	return len(h) > len(suffix) && strings.EqualFold(h[len(h)-len(suffix):], suffix)
}

// sameHost compares a c= address with a URI host: as IP addresses when both
// parse as such, else as domain names, case-insensitively and ignoring a
// trailing dot.
func sameHost(a, b string) bool {
	if ia, err := netip.ParseAddr(a); err == nil {
		ib, err := netip.ParseAddr(b)
		return err == nil && ia.Unmap() == ib.Unmap()
	}
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}
