// Package cpim reads and writes Message/CPIM objects (RFC 3862), the wrapper
// every instant message in an RFC 7701 chat room travels in, and compares the
// SIP, tel and IM URIs those objects carry (RFC 3261 §19.1.4, RFC 3966).
//
// A CPIM object is a block of message headers (From, To, cc, DateTime,
// Subject, NS, Require and namespaced extensions), a blank line, the
// encapsulated MIME headers (which must include Content-Type), a blank line
// and the content:
//
//	From: Alice <sip:alice@example.com>
//	To: <sip:room@chat.example.com>
//	DateTime: 2009-03-02T15:02:31-03:00
//
//	Content-Type: text/plain
//
//	Hello
//
// The RFC 7701 §9 examples leave out the first blank line. Parse accepts that
// compact layout too: a message header line whose name starts with "Content-"
// (any case) opens the MIME header block. Message.CompactLayout records which
// layout was seen. The writer always emits the RFC 3862 layout.
//
// Parse does not copy the content: Message.Body and Message.Raw alias the
// input, and the header names and values are substrings of one string made
// from the header block. A relay forwards Raw byte for byte and never
// re-serializes what it received (RFC 3862 §6, RFC 7701 §6.1).
//
// IsComplete tells a switch that fast-forwards a chunked message whether the
// first bytes it holds already contain both header blocks, so that it can
// route on From, To and the wrapped Content-Type (RFC 7701 §6.1).
//
// The package is pure: standard library only, no goroutines, no logging and
// no package-level mutable state.
package cpim
