package focus

import (
	"log/slog"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// NewUA returns a sipgo user agent whose transport and transaction layers
// log through logger (sipgo's own default is a package-level logger).
func NewUA(hostname string, logger *slog.Logger) (*sipgo.UserAgent, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return sipgo.NewUA(
		sipgo.WithUserAgent("parley"),
		sipgo.WithUserAgentHostname(hostname),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(logger)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(logger)),
	)
}
