package cpim

import (
	"bytes"
	"strings"
)

// framing is where the blocks of a CPIM object begin and end, found by
// looking at line boundaries only.
type framing struct {
	mimeOff    int  // offset of the first encapsulated MIME header line; -1 if not reached
	contentOff int  // offset of the content; valid when complete
	scanned    int  // offset just past the last complete line looked at
	lines      int  // number of non-blank lines up to scanned
	compact    bool // the MIME block began without a blank line (RFC 7701 §9 layout)
	complete   bool // both header blocks and their closing blank line are present
}

// frame finds the header blocks of b. Lines end in LF, optionally preceded
// by CR. A message header line whose name starts with "Content-" (any case)
// opens the MIME header block even without a preceding blank line.
func frame(b []byte) framing {
	f := framing{mimeOff: -1}
	for i := 0; i < len(b); {
		nl := bytes.IndexByte(b[i:], '\n')
		if nl < 0 {
			break // the last line is not complete yet
		}
		line := b[i : i+nl]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		next := i + nl + 1
		blank := len(line) == 0
		switch {
		case f.mimeOff < 0 && blank:
			f.mimeOff = next
		case f.mimeOff < 0 && isContentLine(line):
			f.mimeOff, f.compact = i, true
			f.lines++
		case f.mimeOff >= 0 && blank:
			f.contentOff, f.scanned, f.complete = next, next, true
			return f
		default:
			f.lines++
		}
		f.scanned, i = next, next
	}
	return f
}

func isContentLine(line []byte) bool {
	const p = "content-"
	if len(line) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lower(line[i]) != p[i] {
			return false
		}
	}
	return true
}

// IsComplete reports whether b, the first bytes of a CPIM object (for
// instance the body of a first MSRP chunk), already holds the complete
// message header block and the complete encapsulated MIME header block,
// each closed by its blank line, in either layout. If so, contentOffset is
// where the content starts, and Parse(b) will not return ErrIncomplete.
//
// IsComplete only looks at line boundaries; Parse checks the header syntax.
// A switch that fast-forwards chunks (RFC 7701 §6.1) waits until IsComplete
// is true before it routes the message.
func IsComplete(b []byte) (contentOffset int, ok bool) {
	f := frame(b)
	return f.contentOff, f.complete
}

// Parse parses a CPIM object: the body of an MSRP SEND whose Content-Type is
// message/cpim. Both the RFC 3862 layout and the compact RFC 7701 §9 layout
// (no blank line before the encapsulated Content-Type) are accepted; bare LF
// line endings are accepted too.
//
// The returned Message aliases b: Raw is b and Body is b[ContentOffset:].
// Header strings share one allocation made from the header block.
//
// Errors: a *SyntaxError for a malformed header line; ErrIncomplete when b
// ends inside the header blocks and every complete line so far is well formed
// (so a caller holding a partial first chunk can tell "wait" from "reject");
// a *HeaderError wrapping ErrMissingHeader when the MIME block has no
// Content-Type. Parse does not check the message headers' semantics; see
// Validate and the typed accessors.
//
// Parse enforces no size limit: the caller bounds b (the MSRP layer caps
// chunk and message sizes). To wait for a partial first chunk, poll
// IsComplete, which does not allocate, rather than Parse.
func Parse(b []byte) (*Message, error) {
	f := frame(b)
	s := string(b[:f.scanned])
	hdrs := make([]Header, 0, f.lines)
	nMsg := 0
	lineNo := 0
	for i := 0; i < len(s); {
		lineNo++
		end := i + strings.IndexByte(s[i:], '\n') // s ends with a LF
		line := s[i:end]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		mime := f.mimeOff >= 0 && i >= f.mimeOff
		i = end + 1
		if line == "" {
			continue // one of the two separating blank lines
		}
		h, err := parseHeaderLine(line, lineNo, mime)
		if err != nil {
			return nil, err
		}
		hdrs = append(hdrs, h)
		if !mime {
			nMsg++
		}
	}
	if !f.complete {
		return nil, ErrIncomplete
	}
	m := &Message{
		Headers:       hdrs[:nMsg:nMsg],
		MIMEHeaders:   hdrs[nMsg:],
		Body:          b[f.contentOff:len(b):len(b)],
		Raw:           b,
		MIMEOffset:    f.mimeOff,
		ContentOffset: f.contentOff,
		CompactLayout: f.compact,
	}
	if m.MIMEHeader("Content-Type") == "" {
		if _, ok := m.mimeHeader("Content-Type"); ok {
			return nil, headerErr("Content-Type", invalidValue("empty"))
		}
		return nil, headerErr("Content-Type", ErrMissingHeader)
	}
	return m, nil
}
