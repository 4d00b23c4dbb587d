package sipcheck

import (
	"bytes"
)

// hdr identifies the header fields the checker looks at.
type hdr int

const (
	hVia hdr = iota
	hFrom
	hTo
	hCallID
	hCSeq
	hMaxForwards
	hContentLength
	hRequire
	hContentEncoding
	nHdr
	hOther hdr = -1
)

// names are the canonical names, as written in answers and reason phrases.
var names = [nHdr]string{"Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Require", "Content-Encoding"}

// lookup maps a header name (any case, long or compact form, RFC 3261
// §7.3.3) to the fields the checker knows.
func lookup(name []byte) hdr {
	if len(name) == 1 {
		switch name[0] | 0x20 {
		case 'v':
			return hVia
		case 'f':
			return hFrom
		case 't':
			return hTo
		case 'i':
			return hCallID
		case 'l':
			return hContentLength
		case 'e':
			return hContentEncoding
		}
		return hOther
	}
	for h := hVia; h < nHdr; h++ {
		if len(name) == len(names[h]) && bytes.EqualFold(name, []byte(names[h])) {
			return h
		}
	}
	return hOther
}

// field is one header field: its name as written and its value with
// leading and trailing whitespace removed and continuation lines unfolded
// (RFC 3261 §7.3.1).
type field struct {
	name  []byte
	value []byte
}

// message is a message scanned into lines. Values alias the input, except
// folded ones.
type message struct {
	start    []byte // the start line, without CRLF
	fields   []field
	known    [nHdr]int // index+1 in fields of the first of each known field; 0: absent
	count    [nHdr]int
	body     []byte
	complete bool   // the header section ends with an empty line
	badLine  []byte // the first header line without a colon or with a bare CR, if any
}

// scan splits msg into its start line, header fields and body. Lines end
// with CRLF, as sipgo's parser requires (RFC 3261 §7). A message whose
// header section does not end has complete false.
func scan(msg []byte, fields []field) message {
	m := message{fields: fields[:0]}
	line, rest, ok := cutLine(msg)
	m.start = line
	if !ok {
		return m
	}
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return m
		}
		if len(line) == 0 {
			m.complete, m.body = true, rest
			return m
		}
		// Continuation lines (starting with SP or HTAB) belong to the
		// previous field.
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			next, after, ok := cutLine(rest)
			if !ok {
				return m
			}
			line = append(append(append([]byte(nil), line...), ' '), bytes.TrimLeft(next, " \t")...)
			rest = after
		}
		colon := bytes.IndexByte(line, ':')
		// A bare CR ends a line for sipgo's parser, which then refuses
		// the message (RFC 3261 §7: lines end with CRLF).
		if colon <= 0 || bytes.IndexByte(line, '\r') >= 0 {
			if m.badLine == nil {
				m.badLine = line
			}
			continue
		}
		f := field{name: bytes.TrimRight(line[:colon], " \t"), value: bytes.Trim(line[colon+1:], " \t")}
		m.fields = append(m.fields, f)
		if h := lookup(f.name); h != hOther {
			if m.known[h] == 0 {
				m.known[h] = len(m.fields)
			}
			m.count[h]++
		}
	}
}

// get returns the value of the first field h and whether there is one.
func (m *message) get(h hdr) ([]byte, bool) {
	i := m.known[h]
	if i == 0 {
		return nil, false
	}
	return m.fields[i-1].value, true
}

// each calls fn with every value of field h, in order.
func (m *message) each(h hdr, fn func(v []byte)) {
	if m.known[h] == 0 {
		return
	}
	for _, f := range m.fields[m.known[h]-1:] {
		if lookup(f.name) == h {
			fn(f.value)
		}
	}
}

// cutLine returns the line at the start of b without its CRLF, and the
// rest; ok is false when b holds no CRLF.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.Index(b, crlf)
	if i < 0 {
		return b, nil, false
	}
	return b[:i], b[i+2:], true
}

var crlf = []byte("\r\n")

// isToken reports whether b is an RFC 3261 §25.1 token.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChar(c) {
			return false
		}
	}
	return true
}

func tokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

// digits parses 1*DIGIT into a value, reporting false on anything else or
// a value above max.
func digits(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, v <= max
}

// printable reports whether v holds no control character but HTAB, so
// that it can be copied into an answer.
func printable(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
