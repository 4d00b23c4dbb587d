package relay

import "github.com/parley-im/parley/msrp"

// Handler is what the relay calls into: in parleyd, the switch's chat logic
// (internal/switchboard), which tells the focus about sessions that end. No method is called with a relay lock
// held, and none may block: a Handler that waits (on a socket, a channel
// without room, a lock held across I/O) stalls a connection's read loop, and
// during Shutdown it delays Shutdown until its context ends. A Handler may
// call NewSession, Session.Send, Enqueue and Close, but not Shutdown (which
// would wait for the very goroutine it runs on).
//
// Calling goroutines:
//
//   - For a bound session every call (SessionBound, HandleRequest,
//     HandleResponse, and the SessionEnded for a connection close) comes
//     from the read goroutine of the session's connection, in wire order,
//     SessionEnded last.
//   - For a session that never binds, SessionEnded comes from its bind
//     timer's goroutine (CloseBindTimeout) or from the goroutine calling
//     Shutdown (CloseShutdown).
//
// SessionEnded is called exactly once for every session that ends for a
// reason the Handler did not ask for, and never for a session ended by
// Session.Close (the caller of Close already knows). Because Session.Close
// may run on another goroutine, HandleRequest and HandleResponse may still
// be called for a session that Close has just ended; check your own state.
//
// A panic in a method called from a read goroutine is recovered there: the
// connection closes with CloseInternalError (its sessions end as for any
// close), Stats.HandlerPanics counts it, and the server serves on. It is a
// last line of defence, not a way to refuse a request.
type Handler interface {
	// SessionBound reports that the peer's first request for sess arrived
	// and bound it to a connection: sess.Send works from now on. The request
	// itself is dispatched after SessionBound returns.
	SessionBound(sess *Session)

	// SessionEnded reports that sess ended: its connection closed (peer,
	// read, protocol, slow consumer, write or shutdown reasons), its bind
	// timer fired, or the server shut down. The focus sends BYE.
	SessionEnded(sess *Session, reason CloseReason)

	// HandleRequest handles a request for bound session sess, other than a
	// bodiless SEND (answered 200 by the relay and never passed on). It
	// returns the status code to answer with, or 0 when it answers (with
	// sess.Send) or will answer itself. The relay sends the response only
	// when msg.WantsResponse(code) (Failure-Report, REPORT rules). A REPORT
	// is passed here too; its return value is ignored, as REPORTs are never
	// answered.
	//
	// msg, its Header and its Body are only valid during the call: they
	// alias the connection's read buffer. Use msg.Clone to keep it.
	HandleRequest(sess *Session, msg *msrp.Message) int

	// HandleResponse hands over the peer's response to a request sent on
	// sess. msg is only valid during the call, as in HandleRequest.
	HandleResponse(sess *Session, msg *msrp.Message)
}

// NopHandler ignores session events and responses and answers every
// request 501; it is what New uses for a nil Handler.
type NopHandler struct{}

func (NopHandler) SessionBound(*Session)                  {}
func (NopHandler) SessionEnded(*Session, CloseReason)     {}
func (NopHandler) HandleResponse(*Session, *msrp.Message) {}
func (NopHandler) HandleRequest(*Session, *msrp.Message) int {
	return msrp.StatusMethodNotUnderstood
}
