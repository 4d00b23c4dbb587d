package relay

import "errors"

// Sentinel errors, checked with errors.Is.
var (
	// ErrServerClosed: the server has been shut down (Serve's return value
	// after Shutdown; NewSession and the write path after Shutdown began).
	ErrServerClosed = errors.New("relay: server closed")
	// ErrNotListening: NewSession or Serve before a successful Listen.
	ErrNotListening = errors.New("relay: not listening")
	// ErrNotBound: the session has no connection yet (RFC 4975 §5.4: the
	// passive side cannot send before the peer's first request binds one).
	ErrNotBound = errors.New("relay: session not bound")
	// ErrSessionClosed: the session has ended.
	ErrSessionClosed = errors.New("relay: session closed")
	// ErrConnClosed: the session's connection is closed or closing.
	ErrConnClosed = errors.New("relay: connection closed")
	// ErrSlowConsumer: this write would have taken the connection's pending
	// output over Config.MaxPendingBytes; the connection has been closed
	// with CloseSlowConsumer.
	ErrSlowConsumer = errors.New("relay: slow consumer")
	// ErrCongested: Session.Offer dropped its data because the connection
	// is congested (RFC 7701 §6.4); nothing was queued, the connection stays.
	ErrCongested = errors.New("relay: congested")
	// ErrNoTLS: NewSession for a peer with an msrps URI, and the server
	// has no TLS listener (Config.TLSAddr).
	ErrNoTLS = errors.New("relay: no TLS listener for an msrps session")
	// ErrNoWebSocket: NewSession for a peer with a ;ws URI (RFC 7977), and
	// the server has no WebSocket listener (Config.WSPort), or the peer's
	// URI is msrps and that listener is not HTTPS (Config.WSSecure).
	ErrNoWebSocket = errors.New("relay: no WebSocket listener for a ;ws session")
)
