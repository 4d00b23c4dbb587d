package sipcheck

import (
	"bytes"
	"errors"
)

// Framing errors: the stream cannot be cut into messages any more, and the
// connection must be closed (after the answer, when Frame gives one).
var (
	// ErrTooLarge: the header section, or header section and body, is
	// longer than the limit.
	ErrTooLarge = errors.New("sipcheck: message too large")
	// ErrBadLength: Content-Length is not a number, or given twice with
	// different values, so the end of the body is unknown.
	ErrBadLength = errors.New("sipcheck: bad Content-Length")
)

// Frame finds the first message in buf, read from a stream (RFC 3261
// §18.3): it skips the CRLFs that may precede a start line (§7.5, keepalives
// of RFC 5626 §3.5.1), then needs the header section and Content-Length
// octets of body. It returns the number of leading CRLF octets skipped,
// and the length of the message after them, 0 when more input is needed.
// A message without Content-Length is framed with an empty body (Check
// then answers 400 Missing Content-Length). On ErrTooLarge and
// ErrBadLength n is the length of the header section, so that the caller
// can answer the request before closing.
func Frame(buf []byte, max int) (skip, n int, err error) {
	for skip+1 < len(buf) && buf[skip] == '\r' && buf[skip+1] == '\n' {
		skip += 2
	}
	b := buf[skip:]
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) > max {
			return skip, 0, ErrTooLarge
		}
		return skip, 0, nil
	}
	head := end + 4
	if head > max {
		return skip, head, ErrTooLarge
	}
	length, err := contentLength(b[:head])
	if err != nil {
		return skip, head, err
	}
	if length > max-head {
		return skip, head, ErrTooLarge
	}
	if len(b) < head+length {
		return skip, 0, nil
	}
	return skip, head + length, nil
}

// contentLength reads Content-Length (or l) from a header section; 0 when
// there is none.
func contentLength(head []byte) (int, error) {
	var buf [24]field
	m := scan(head, buf[:])
	length, seen := -1, false
	var err error
	m.each(hContentLength, func(v []byte) {
		n, ok := digits(v, 1<<31)
		switch {
		case !ok:
			err = ErrBadLength
		case seen && int(n) != length:
			err = ErrBadLength
		}
		length, seen = int(n), true
	})
	if err != nil {
		return 0, err
	}
	return max(length, 0), nil
}
