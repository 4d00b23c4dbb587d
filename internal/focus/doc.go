// Package focus is parley's SIP conference focus (RFC 4579, RFC 7701 §5):
// it answers INVITEs to room URIs with an MSRP session on the switch,
// keeps one SIP dialog per participant, and ends dialogs with BYE when the
// MSRP side goes away.
//
// It runs on sipgo for transport and transactions only. The dialog layer is
// our own (dialog.go): sipgo hands every request to its handler on a new
// goroutine, so the requests of one dialog can be processed in any order
// (an ACK after the BYE, a re-INVITE before the ACK of the INVITE). Each
// dialog is a small state machine behind its own mutex that accepts every
// order and answers each request by the state it finds.
//
// Goroutines: sipgo's per-request handler goroutines call into Focus; the
// Focus itself starts, through goTracked (Shutdown waits for them), one
// goroutine per 2xx awaiting its ACK (retransmitting it over UDP; ends on
// the ACK, after 64·T1, or at Shutdown) and one per BYE it sends (bounded
// by twice ByeTimeout).
//
// Lock order: Focus.mu (shutdown flags) → table.mu → dialog.mu. No
// lock is held while calling sipgo, the room registry or the switch.
package focus
