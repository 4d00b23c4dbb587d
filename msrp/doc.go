// Package msrp implements the wire format of the Message Session Relay
// Protocol (RFC 4975) with the NICKNAME method and status codes of RFC 7701,
// the relay headers of RFC 4976 and the "ws" transport of RFC 7977.
//
// It holds the message model (Message, Header, URI, ByteRange, Status), a
// streaming Reader that frames messages off a byte stream with bounded
// memory and without copying bodies, the writing side (Message.AppendTo,
// WriteTo and the allocation-free Envelope used for fan-out), chunking
// (Chunker) and reassembly (Reassembler), and identifier generation
// (IDSource) from crypto/rand.
//
// The package is pure: it uses only the standard library, starts no
// goroutines, logs nothing and has no mutable package state. See
// docs/DESIGN.md for the ownership rules of Reader, IDSource and Frame.
package msrp
