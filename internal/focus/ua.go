package focus

import (
	"context"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// maxUDPDatagram is the largest UDP payload (65,535 − 8 − 20 octets).
const maxUDPDatagram = 65507

// sipgo refuses to send a UDP message over 1,300 octets (RFC 3261 §18.1.1
// asks for TCP above that when the path MTU is unknown). For our own
// requests the focus does the switch itself (overStream: a NOTIFY with a
// large conference document goes over TCP). A response, though, goes back
// the way its request came (RFC 3261 §18.2.2), and a 2xx to INVITE with a
// nickname-info answer may be larger: the focus lets sipgo send SIP over
// UDP up to the largest datagram, leaving fragmentation to IP, as SIP
// servers commonly do. Set once, before any user agent exists.
func init() { sip.UDPMTUSize = maxUDPDatagram + 200 }

// NewUA returns a sipgo user agent whose transport and transaction layers
// log through logger (sipgo's own default is a package-level logger).
func NewUA(hostname string, logger *slog.Logger) (*sipgo.UserAgent, error) {
	return NewUAWith(hostname, logger, UAOptions{})
}

// UAOptions restrict where the user agent's own requests may go.
type UAOptions struct {
	// Resolver looks up host names (nil: the system's).
	Resolver *net.Resolver
	// DialControl, when set, vets every TCP connection the user agent
	// opens, for SIP over TCP or TLS (net.Dialer.Control): the focus opens
	// one to a participant's Contact when its connection is gone.
	DialControl func(network, address string, c syscall.RawConn) error
	// Dialing, when set, is told of every TCP connection the user agent
	// opens (for SIP over TCP or TLS) once DialControl has let it through,
	// before it connects; an error refuses it (net.Dialer.ControlContext).
	// parleyd refuses once it is shutting down, and keeps c to abort a
	// connection still being made then.
	Dialing func(ctx context.Context, network, address string, c syscall.RawConn) error
	// ReadFilter, when set, sees every message the user agent reads
	// before sipgo parses it (sip.WithTransportLayerReadFilter): a message
	// it returns no bytes for is dropped.
	ReadFilter sip.TransportReadFilter
	// IdleTimeout, when set, closes a TCP connection the user agent
	// opened once it has read nothing for this long (sip.idle_timeout).
	IdleTimeout time.Duration
	// StrayResponse, when set, gets every response that matches no client
	// transaction: the focus's answers to pending NOTIFYs, which go out
	// without one (Focus.StrayResponse).
	StrayResponse func(*sip.Response)
}

// NewUAWith is NewUA with options.
func NewUAWith(hostname string, logger *slog.Logger, o UAOptions) (*sipgo.UserAgent, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tp := []sip.TransportLayerOption{sip.WithTransportLayerLogger(logger)}
	if o.ReadFilter != nil {
		// sipgo copies the read filter into the transports it is given
		// when it takes them: this option comes first.
		tp = append(tp, sip.WithTransportLayerReadFilter(o.ReadFilter))
	}
	if o.DialControl != nil || o.Dialing != nil || o.IdleTimeout > 0 {
		// Transports of our own for TCP and TLS, with our dialer. Their
		// log is sipgo's package-level logger (the field is not exported).
		tp = append(tp, sip.WithTransportLayerTransports(sip.TransportsConfig{
			TCP: &sip.TransportTCP{
				DialerCreate: o.dialer,
				// sipgo sets this read deadline before each read of a TCP
				// connection. On one accepted from a participant the SIP
				// guard replaces it with its own (message and idle
				// timeouts); on one the focus opened itself (a NOTIFY or
				// BYE to a Contact, overStream) it is the only bound: sipgo
				// keeps such a connection open after its transaction, and
				// without this a peer could have the focus hold one per
				// port it names.
				ReadTimeout: o.IdleTimeout,
			},
			TLS: &sip.TransportTLS{TransportTCP: &sip.TransportTCP{DialerCreate: o.dialer}},
		}))
	}
	txOpts := []sip.TransactionLayerOption{sip.WithTransactionLayerLogger(logger)}
	if o.StrayResponse != nil {
		txOpts = append(txOpts, sip.WithTransactionLayerUnhandledResponseHandler(o.StrayResponse))
	}
	opts := []sipgo.UserAgentOption{
		sipgo.WithUserAgent("parley"),
		sipgo.WithUserAgentHostname(hostname),
		sipgo.WithUserAgentTransportLayerOptions(tp...),
		sipgo.WithUserAgentTransactionLayerOptions(txOpts...),
	}
	if o.Resolver != nil {
		opts = append(opts, sipgo.WithUserAgentDNSResolver(o.Resolver))
	}
	return sipgo.NewUA(opts...)
}

// dialer is the user agent's TCP and TLS dialer: sipgo's (a minute's
// timeout), with DialControl and Dialing.
func (o UAOptions) dialer(laddr net.Addr) net.Dialer {
	if la, ok := laddr.(*net.TCPAddr); ok && la == nil {
		laddr = nil // sipgo passes a nil *net.TCPAddr for "any"
	}
	return net.Dialer{
		Timeout:   time.Minute,
		LocalAddr: laddr,
		ControlContext: func(ctx context.Context, network, address string, c syscall.RawConn) error {
			if o.DialControl != nil {
				if err := o.DialControl(network, address, c); err != nil {
					return err
				}
			}
			if o.Dialing != nil {
				return o.Dialing(ctx, network, address, c)
			}
			return nil
		},
	}
}
