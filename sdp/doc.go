// Package sdp is an RFC 4566 session description codec for MSRP sessions,
// with typed accessors for the attributes of RFC 4975 §8 (path,
// accept-types, accept-wrapped-types, max-size), RFC 6135 (setup) and
// RFC 7701 §8 (chatroom), and helpers to build RFC 3264 answers.
//
// The codec is tolerant of what it does not understand and strict about
// what parley uses. Any line type, any attribute and any media line (audio,
// video, unknown media and protos) is kept and written back in order, so
// that an offer with, say, an RTP audio stream next to the MSRP stream can
// be parsed and answered with that stream rejected (port 0). The structural
// lines (v=, o=, s=, c=, m=) are checked; attribute values are only checked
// when their typed accessor is called.
//
// Parse accepts CRLF or bare LF line endings; Marshal always writes CRLF.
// Lines are kept in their order, except that c= is written at its RFC 4566
// position (after i=, u=, e=, p= at session level, after i= in a media
// section) and a= lines after the other lines of their section. A
// description in RFC 4566 order therefore survives Parse and Marshal byte
// for byte, and for any input Parse(Marshal(Parse(b))) equals Parse(b).
//
// Attribute names are matched case-insensitively; the spelling on the wire
// is kept. When an attribute that should appear once is repeated, the
// accessors use the first one, except a=path: two paths make the route
// ambiguous, so Path returns an error.
//
// The package is pure: no goroutines, no logging, no package state.
package sdp
