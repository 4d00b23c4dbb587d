package relay

import "log/slog"

// CloseReason says why a connection was closed or a session ended. Every
// close carries exactly one reason: the first one recorded wins, so a
// connection closed for a slow consumer does not later count as a read error
// when its read loop notices the closed socket.
type CloseReason uint8

const (
	// CloseNormal: the session was closed by the focus (Session.Close after a
	// BYE); a connection is closed with it when its last session goes.
	CloseNormal CloseReason = iota
	// ClosePeer: the peer closed the connection (EOF, also in mid-message).
	ClosePeer
	// CloseReadError: reading failed (connection reset and the like).
	CloseReadError
	// CloseProtocolError: the byte stream could not be framed (bad start
	// line, header section or start line over the limits); it cannot be
	// answered, so the connection is closed.
	CloseProtocolError
	// CloseSlowConsumer: the connection's pending output went over
	// Config.MaxPendingBytes.
	CloseSlowConsumer
	// CloseWriteTimeout: a write batch missed Config.WriteTimeout.
	CloseWriteTimeout
	// CloseWriteError: writing failed for another reason.
	CloseWriteError
	// CloseBindTimeout: a session was not bound by a request of its peer
	// within Config.BindTimeout, or a connection bound no session in that time.
	CloseBindTimeout
	// CloseShutdown: the server is shutting down.
	CloseShutdown
	// CloseCongested: the connection stayed congested (pending output over
	// Config.CongestedBytes) for Config.CongestionTimeout (RFC 7701 §6.4).
	CloseCongested
	// CloseFramingLost: an end-line did not match the message it should
	// end (msrp.ErrEndLineMismatch: another transaction id, or a flag other
	// than $, + and #; RFC 4975 §7.1). The stream cannot be resynchronised
	// and the request cannot be answered, so the connection is closed.
	CloseFramingLost
	// CloseInternalError: the Handler panicked while handling a message of
	// the connection; the panic was recovered at the read loop, logged,
	// counted (Stats.HandlerPanics), and only this connection was closed.
	CloseInternalError
	// CloseStalled: a message that had begun on a bound connection did not
	// end within Config.ProgressTimeout (a peer trickling a chunk, issue
	// 14). RFC 4975 sets no such bound; without one, a peer sending a byte
	// now and then would hold the connection and its buffers for ever.
	CloseStalled
	// CloseSourceLimit: the connection was accepted while its source IP
	// address already held Config.MaxUnboundPerSource connections that had
	// bound no session; it was closed at once, before reading anything.
	CloseSourceLimit
	// CloseHandshake: the TLS handshake of a connection to the msrps
	// listener failed, or did not finish within Config.BindTimeout of the
	// accept (the bind deadline bounds it: the handshake is the first
	// read). Scanners and plain-TCP clients on the TLS port end here.
	CloseHandshake
	// CloseWSFraming: a WebSocket message did not hold exactly one MSRP
	// message (RFC 7977 §4.2: one chunk per WebSocket message, one
	// WebSocket message per chunk): two in one, one cut short, or none.
	CloseWSFraming
	// CloseWSTooLarge: a WebSocket message was larger than the largest
	// MSRP chunk the relay accepts (its header limit, its chunk limit and
	// an end-line).
	CloseWSTooLarge
	// CloseConnLimit: the connection was accepted while its source IP
	// address already held Config.MaxConnsPerSource connections, bound or
	// not; it was closed at once, before reading anything.
	CloseConnLimit

	numCloseReasons = iota
)

var closeReasonNames = [numCloseReasons]string{
	CloseNormal:        "normal",
	ClosePeer:          "peer",
	CloseReadError:     "read-error",
	CloseProtocolError: "protocol-error",
	CloseSlowConsumer:  "slow-consumer",
	CloseWriteTimeout:  "write-timeout",
	CloseWriteError:    "write-error",
	CloseBindTimeout:   "bind-timeout",
	CloseShutdown:      "shutdown",
	CloseCongested:     "congested",
	CloseFramingLost:   "framing-lost",
	CloseInternalError: "internal-error",
	CloseStalled:       "stalled",
	CloseSourceLimit:   "source-limit",
	CloseHandshake:     "tls-handshake",
	CloseWSFraming:     "ws-framing",
	CloseWSTooLarge:    "ws-too-large",
	CloseConnLimit:     "conn-limit",
}

func (r CloseReason) String() string {
	if int(r) < len(closeReasonNames) {
		return closeReasonNames[r]
	}
	return "unknown"
}

// level is the log level of a close for this reason: routine ends are
// debug, lost peers info, and closes that point at overload or a broken
// peer are warnings.
func (r CloseReason) level() slog.Level {
	switch r {
	case CloseNormal, ClosePeer, CloseShutdown:
		return slog.LevelDebug
	case CloseSourceLimit, CloseConnLimit, CloseHandshake:
		// One per connection refused (or per failed handshake, which
		// scanners make): at the rate a flood comes in, it is counted
		// (Stats.ConnsClosed) rather than logged.
		return slog.LevelDebug
	case CloseSlowConsumer, CloseWriteTimeout, CloseProtocolError, CloseCongested, CloseFramingLost, CloseStalled, CloseWSFraming, CloseWSTooLarge:
		return slog.LevelWarn
	case CloseInternalError:
		return slog.LevelError
	}
	return slog.LevelInfo
}
