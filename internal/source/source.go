// Package source says what parleyd counts as one source of traffic for
// its per-source limits (the focus's rooms, dialogs and subscriptions per
// source; the relay's unbound MSRP connections per source).
package source

import "net/netip"

// Key is what the per-source limits count an address as: an IPv4 address
// itself (an IPv4-mapped IPv6 address as its IPv4 address), an IPv6
// address by its /64, the prefix one subscriber gets (RFC 6177): counting
// whole IPv6 addresses would give one host 2^64 sources.
func Key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}
