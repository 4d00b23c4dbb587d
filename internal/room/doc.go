// Package room is the chat domain of parley, without I/O: the registry of
// rooms, who is in each, and the room policies of RFC 7701 §4.1 (creation,
// deletion, capabilities). The SIP focus and the MSRP switch ask it what to
// do and carry the answers out; nothing here touches a socket or a timer.
//
// Concurrency: a Registry is safe for concurrent use. Its one mutex
// (Registry.mu) guards every room and participant it holds; callers never
// receive a lock, only snapshots (Members) and decisions (Join, Leave).
package room
