// Package room is the chat domain of parley, without I/O: the registry of
// rooms, who is in each, and the room policies of RFC 7701 §4.1 (creation,
// deletion, capabilities). The SIP focus and the MSRP switch ask it what to
// do and carry the answers out; nothing here touches a socket or a timer.
//
// Concurrency: a Registry is safe for concurrent use. Its one mutex
// (Registry.mu) guards every room and participant it holds; callers never
// receive a lock, only snapshots (Members) and decisions (Join, Leave).
// Nicknames (RFC 7701 §7 with RFC 8266 comparison) has its own leaf mutex.
// Route is a pure function over a snapshot of the members: it decides who
// gets a SEND, or which status refuses it (SPEC §14 item 4 order).
package room
