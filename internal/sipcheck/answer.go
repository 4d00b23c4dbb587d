package sipcheck

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strconv"

	"github.com/emiago/sipgo/sip"
)

// answer builds the response to a request the checker refuses (RFC 3261
// §8.2.6): the status line, the request's Via fields in order, its From,
// To (with a tag of ours when it has none, §8.2.6.2), Call-ID and CSeq as
// they were written, the extra fields, and an empty body. A field that is
// malformed is left out, so that the answer itself parses.
func answer(m *message, code int, reason string, extra ...string) []byte {
	hp := sip.HeadersParser(sip.DefaultHeadersParser())
	var scratch []byte
	b := make([]byte, 0, 256)
	b = append(b, "SIP/2.0 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	b = append(b, crlf...)
	if checkVias(m, hp, &scratch) == "" {
		m.each(hVia, func(v []byte) { b = appendField(b, "Via", v) })
	}
	if v, ok := m.get(hFrom); ok && parses(hp, &scratch, "From", v) {
		b = appendField(b, "From", v)
	}
	if v, ok := m.get(hTo); ok && printable(v) && parses(hp, &scratch, "To", v) {
		b = appendField(b, "To", v)
		if !hasTag(v) {
			b = b[:len(b)-2]
			b = append(b, ";tag="...)
			b = append(b, newTag()...)
			b = append(b, crlf...)
		}
	}
	if v, ok := m.get(hCallID); ok && isCallID(v) {
		b = appendField(b, "Call-ID", v)
	}
	if v, ok := m.get(hCSeq); ok && isCSeq(v) {
		b = appendField(b, "CSeq", v)
	}
	for _, e := range extra {
		b = append(b, e...)
		b = append(b, crlf...)
	}
	b = append(b, "Content-Length: 0\r\n\r\n"...)
	return b
}

// parses reports whether sipgo parses the field name: v.
func parses(hp sip.HeadersParser, scratch *[]byte, name string, v []byte) bool {
	_, err := parseField(hp, scratch, name, v)
	return err == nil
}

func appendField(b []byte, name string, v []byte) []byte {
	if !printable(v) {
		return b
	}
	b = append(b, name...)
	b = append(b, ':', ' ')
	b = append(b, v...)
	return append(b, crlf...)
}

// hasTag reports whether a To value carries a tag parameter: one after the
// URI (outside <> and quotes).
func hasTag(v []byte) bool {
	if i := bytes.LastIndexByte(v, '>'); i >= 0 {
		v = v[i+1:]
	}
	for p := range bytes.SplitSeq(v, []byte(";")) {
		name, _, _ := bytes.Cut(bytes.Trim(p, " \t"), []byte("="))
		if bytes.EqualFold(bytes.TrimRight(name, " \t"), []byte("tag")) {
			return true
		}
	}
	return false
}

func newTag() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Refuse builds the answer with code and reason to the request whose header
// section is head, for a stream that cannot be framed any further (Frame's
// ErrTooLarge: 513; ErrBadLength: 400). It returns nil when no answer may
// be sent: head is a response, an ACK, or no request line.
func Refuse(head []byte, code int, reason string) []byte {
	var buf [24]field
	m := scan(head, buf[:])
	method, _, _, ok := splitStart(m.start)
	if !ok || !isToken(method) || string(method) == "ACK" || bytes.HasPrefix(bytes.ToUpper(m.start), []byte("SIP/")) {
		return nil
	}
	return answer(&m, code, reason)
}
