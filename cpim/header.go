package cpim

import "strings"

// Header is one header line of a CPIM object, as it appears on the wire:
//
//	Name ":" *( ";" Parameter ) SP Value
//
// Name is case-sensitive for message headers ("cc" is not "Cc", RFC 3862
// §3.1) and includes any namespace prefix ("MyFeatures.WackyMessageOption").
// Params holds the raw parameters with their leading ";" (";lang=fr"), empty
// when there are none; MIME headers never have Params. Value keeps its escape
// sequences; Message.Get and the typed accessors decode them.
type Header struct {
	Name   string
	Params string
	Value  string
}

// Lang returns the value of the lang parameter (RFC 3862 §3.3), or "".
func (h Header) Lang() string {
	p := h.Params
	for p != "" {
		var param string
		param, p, _ = strings.Cut(strings.TrimPrefix(p, ";"), ";")
		if name, value, ok := strings.Cut(param, "="); ok && equalFold(name, "lang") {
			return value
		}
	}
	return ""
}

// parseHeaderLine reads one header line (line terminator already removed).
// It is lenient where that is harmless: the SP after the colon may be missing
// and trailing whitespace is dropped. It rejects control characters (HTAB is
// allowed inside MIME header values) and lines without a colon.
func parseHeaderLine(line string, lineNo int, mime bool) (Header, error) {
	line = trimRightWS(line)
	colon := strings.IndexByte(line, ':')
	if colon < 0 {
		return Header{}, &SyntaxError{Line: lineNo, Reason: "missing colon in header line"}
	}
	if colon == 0 {
		return Header{}, &SyntaxError{Line: lineNo, Reason: "empty header name"}
	}
	h := Header{Name: line[:colon]}
	for i := 0; i < len(h.Name); i++ {
		if !isWireNameChar(h.Name[i]) {
			return Header{}, &SyntaxError{Line: lineNo, Reason: "invalid character in header name"}
		}
	}
	rest := line[colon+1:]
	if !mime && strings.HasPrefix(rest, ";") {
		if sp := strings.IndexByte(rest, ' '); sp >= 0 {
			h.Params, rest = rest[:sp], rest[sp:]
		} else {
			h.Params, rest = rest, ""
		}
		for i := 0; i < len(h.Params); i++ {
			if isCTL(h.Params[i]) {
				return Header{}, &SyntaxError{Line: lineNo, Reason: "control character in header parameters"}
			}
		}
	}
	h.Value = strings.TrimPrefix(rest, " ")
	for i := 0; i < len(h.Value); i++ {
		if c := h.Value[i]; isCTL(c) && !(mime && c == '\t') {
			return Header{}, &SyntaxError{Line: lineNo, Reason: "control character in header value"}
		}
	}
	return h, nil
}

// appendHeader writes h as one CRLF-terminated line.
func appendHeader(dst []byte, h Header) []byte {
	dst = append(dst, h.Name...)
	dst = append(dst, ':')
	dst = append(dst, h.Params...)
	dst = append(dst, ' ')
	dst = append(dst, h.Value...)
	return append(dst, '\r', '\n')
}
