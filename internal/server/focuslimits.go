package server

import (
	"net/netip"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/focus"
)

// focusLimits are the [limits] table as the focus takes them. The exempt
// prefixes were validated with the configuration (config.ParsePrefix), so
// none is dropped here.
func focusLimits(l config.LimitsConfig) focus.Limits {
	exempt := make([]netip.Prefix, 0, len(l.Exempt))
	for _, e := range l.Exempt {
		if p, err := config.ParsePrefix(e); err == nil {
			exempt = append(exempt, p)
		}
	}
	return focus.Limits{
		RoomsPerSource:           l.RoomsPerSource,
		RoomsPerIdentity:         l.RoomsPerIdentity,
		DialogsPerSource:         l.DialogsPerSource,
		DialogsPerIdentity:       l.DialogsPerIdentity,
		SubscriptionsPerSource:   l.SubscriptionsPerSource,
		SubscriptionsPerIdentity: l.SubscriptionsPerIdentity,
		SubscriptionsPerRoom:     l.SubscriptionsPerRoom,
		Exempt:                   exempt,
	}
}
