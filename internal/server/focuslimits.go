package server

import (
	"net/netip"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/focus"
)

// focusLimits are the [limits] table as the focus takes them (the message
// rate and the MSRP connections per source go to the switch and the relay,
// server.go). The exempt prefixes were validated with the configuration
// (config.ParsePrefix), so none is dropped here.
func focusLimits(l config.LimitsConfig) focus.Limits {
	return focus.Limits{
		RoomsPerSource:           l.RoomsPerSource,
		RoomsPerIdentity:         l.RoomsPerIdentity,
		DialogsPerSource:         l.DialogsPerSource,
		DialogsPerIdentity:       l.DialogsPerIdentity,
		SubscriptionsPerSource:   l.SubscriptionsPerSource,
		SubscriptionsPerIdentity: l.SubscriptionsPerIdentity,
		SubscriptionsPerRoom:     l.SubscriptionsPerRoom,
		Exempt:                   prefixes(l.Exempt),
		JoinsPerSecond:           l.JoinsPerSecond,
		JoinsBurst:               l.JoinsBurst,
		SubscriptionsPerSecond:   l.SubscriptionsPerSecond,
		SubscriptionsBurst:       l.SubscriptionsBurst,
		RateExempt:               prefixes(l.RateExempt),
	}
}

// prefixes parses a list of limits.exempt or limits.rate_exempt entries.
func prefixes(list []string) []netip.Prefix {
	ps := make([]netip.Prefix, 0, len(list))
	for _, e := range list {
		if p, err := config.ParsePrefix(e); err == nil {
			ps = append(ps, p)
		}
	}
	return ps
}
