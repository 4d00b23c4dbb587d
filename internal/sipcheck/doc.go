// Package sipcheck validates SIP messages before any SIP stack or handler
// touches them: the one place where a malformed request gets its RFC 3261
// answer (400 naming the header at fault, 505, 501, 405, 416, 420, 513)
// and a malformed response or ACK is dropped, whatever the method and
// whether in or out of a dialog.
//
// It works on raw bytes: one datagram (Check) or one message framed out of
// a stream (Frame, then Check). A message that passes is one sipgo's
// parser accepts and whose mandatory header fields (RFC 3261 §8.1.1: Via,
// From, To, Call-ID, CSeq, Max-Forwards) are present, single where they
// must be, and well formed, with the CSeq method equal to the request
// method. A message that fails yields the response to send, built from the
// request's own Via, From, To, Call-ID and CSeq lines (RFC 3261 §8.2.6).
//
// The package does no I/O, starts no goroutines and keeps no state; the
// transports in internal/server call it.
package sipcheck
