package cpim

import "bytes"

// InsertHeaders appends to dst the CPIM object b with lines added at the
// end of its message header block (RFC 3862 §3): after the last message
// header, before the blank line that closes the block — or, in the compact
// layout of RFC 7701 §9, before the first Content- line. Everything else
// is copied unchanged: a relay can mark a stored message without parsing
// or rewriting it. Each line is "Name: value", without line end; the
// object's own line ending (CRLF, or a bare LF) is used. An extension
// header needs its namespace declared first (an NS line among lines, RFC
// 3862 §3.1), so that a reader that does not know it ignores it.
//
// It returns ErrIncomplete when b does not hold both complete header
// blocks.
func InsertHeaders(dst, b []byte, lines ...string) ([]byte, error) {
	f := frame(b)
	if !f.complete {
		return dst, ErrIncomplete
	}
	at := f.mimeOff
	if !f.compact {
		// The blank line before the MIME block: CRLF, or a bare LF.
		at--
		if at > 0 && b[at-1] == '\r' {
			at--
		}
	}
	eol := "\n"
	if i := bytes.IndexByte(b, '\n'); i > 0 && b[i-1] == '\r' {
		eol = "\r\n"
	}
	dst = append(dst, b[:at]...)
	for _, l := range lines {
		dst = append(dst, l...)
		dst = append(dst, eol...)
	}
	return append(dst, b[at:]...), nil
}
