// Package switchboard is the MSRP switch's chat logic (RFC 7701 §6–§7): it
// implements relay.Handler and turns the SENDs and NICKNAMEs of bound
// sessions into deliveries to the other participants of the room, and
// focus.Roster to learn who is in which room.
//
// A SEND's first chunk is held only until its CPIM header block and the
// wrapped MIME headers are complete (cpim.IsComplete; SPEC §14A.2); then
// room.Route decides the recipients and every later chunk of the message
// (same Message-ID, same sending session) follows them. Each recipient gets
// its own small envelope (msrp.Envelope.AppendFrame) in front of a body
// copied once per chunk and shared by all recipients, queued without
// blocking with relay.Session.Offer: regular and private messages and the
// '#' chunks that end copies alike are dropped for a congested recipient
// (RFC 7701 §6.4), which is told so once per episode by a notice, the one
// thing queued past the congestion mark; so nothing a sender does can push
// another participant over its queue cap (issue 14). Each sending session
// may have at most Config.MaxUnfinished chunked messages in progress,
// holding Config.MaxUnfinishedBytes octets (limits.go: 413 beyond).
// The switch answers the sender hop by hop, sends success REPORTs
// itself (RFC 7701 §6.3) and consumes the recipients' responses and
// REPORTs, acting only on a failure response to a chunk of a message still
// in progress (that recipient's copy stops).
//
// Concurrency: every Handler call for a session comes from its
// connection's read goroutine, so a sender's fan-out runs there and needs
// no lock for its own state; Roster calls come from SIP goroutines; chunk
// timers run on their own goroutines. See docs/DESIGN.md for the lock
// order.
package switchboard
