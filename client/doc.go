// Package client is the library every client-side parley program uses (the
// CLI, the integration tests, the load tool, later the web gateway) to take
// part in RFC 7701 chat rooms.
//
// This version joins and leaves. Join sends an INVITE with an SDP offer
// (m=message 9 TCP/MSRP *, a=accept-types:message/cpim,
// a=accept-wrapped-types, a=path with a fresh session-id, a=setup:active,
// a=chatroom), ACKs the 2xx, checks the answer (isfocus, an MSRP path,
// message/cpim), connects to the first URI of the focus's path and binds the
// session with a bodiless SEND (RFC 4975 §5.4, RFC 6135). Session.Leave
// sends BYE. A Session also ends when the focus sends BYE (Err is
// ErrEndedByFocus) or when the MSRP connection is lost (ErrConnectionLost;
// the Session sends BYE).
//
// Each Session has its own sipgo user agent, listening on
// Options.LocalAddr, so that it can receive the focus's BYE; the dialog
// layer (From/To tags, CSeq, ACK, CANCEL, BYE) is ours, as in the focus.
// Requests go straight to the focus: no Record-Route, no DNS SRV.
//
// # Goroutines
//
//	goroutine            owner    started by           ends when
//	SIP serve loop       Session  Join (agent.start)   finish closes our SIP listener; finish waits for it
//	MSRP read loop       Session  Join, once connected the connection closes (EOF, error, or finish
//	                                                   closing it); finish waits for it
//	sipgo's own          sipgo    sipgo                finish closes the user agent: its transactions,
//	(handlers, timers,                                 its connections (the TCP one to the focus) and so
//	connection readers)                                their readers
//
// The ending of a Session (finish: close the MSRP connection, end the
// INVITE transaction, stop the user agent, set Err, close Done) runs exactly
// once, on the goroutine that moved the state away from joining or active
// under Session.mu:
//
//   - Join, when joining fails (after a BYE if a dialog exists);
//   - Leave, after its BYE (bounded by ctx and Options.Timeout);
//   - the sipgo handler goroutine of the focus's BYE, after answering 200;
//   - the MSRP read loop, when the connection drops under an active
//     Session: it waits up to one second for the focus's BYE (parleyd
//     closes the connection, then sends BYE), else sends BYE itself
//     (bounded by Options.Timeout).
//
// finish itself does no network waits. When Done is closed, every goroutine
// of the Session has stopped or is returning.
//
// # Locks
//
// Session.mu guards the state, Err and the focus-BYE flag; dialog.mu the
// dialog fields learnt from the 2xx; msrpConn.writeMu one write on the MSRP
// connection. None is held while another is taken, or during I/O (writeMu
// excepted: it exists to serialise writes, which have a deadline).
//
// # Later issues
//
// Sending CPIM messages, a channel of received ones and NICKNAME plug into
// msrpConn: onSend (incoming SENDs), write and its IDSource (outgoing
// requests), and the read loop's response dispatch (today only the bind's).
package client
