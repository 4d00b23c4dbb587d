package sipcheck

import (
	"bytes"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Action is what the transport does with a checked message.
type Action int

const (
	// Pass: hand the message to the SIP stack.
	Pass Action = iota
	// Answer: send Result.Response back to where the message came from
	// and drop the message.
	Answer
	// Drop: discard the message without a word (a malformed response or
	// ACK, which never get answers, or bytes that are no request at all).
	Drop
)

// Result is the verdict on one message.
type Result struct {
	Action Action
	Code   int    // the status code answered (Answer) or that would have been (Drop of an ACK); 0 on Pass
	Reason string // the reason phrase, naming the header field at fault
	// Response is the answer to send (Answer only).
	Response []byte
}

// Rules are what the user agent server behind the checker implements.
type Rules struct {
	// Allow lists the methods the server implements: a request with
	// another method known to SIP gets 405 with this list in Allow, one
	// with an unknown method 501 (RFC 3261 §8.2.1, §21.5.2).
	Allow []string
	// Supported lists the option tags the server understands; a request
	// whose Require names another gets 420 with Unsupported (RFC 3261
	// §8.2.2.3). ACK and CANCEL are not checked (RFC 3261 §8.2.2.3).
	Supported []string
	// Stream: the message was framed out of a stream (TCP, TLS), where
	// Content-Length is mandatory (RFC 3261 §18.3, §20.14).
	Stream bool
}

// knownMethods are the methods SIP defines (RFC 3261 and the extensions
// registered with IANA): one of them that the server does not implement is
// 405, anything else 501.
var knownMethods = []string{
	"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", // RFC 3261
	"PRACK",               // RFC 3262
	"SUBSCRIBE", "NOTIFY", // RFC 6665
	"PUBLISH", // RFC 3903
	"INFO",    // RFC 6086
	"REFER",   // RFC 3515
	"MESSAGE", // RFC 3428
	"UPDATE",  // RFC 3311
}

const maxCSeq = 1<<31 - 1 // RFC 3261 §8.1.1.5

// Check inspects one complete SIP message: a datagram, or a message Frame
// cut out of a stream (leading CRLFs removed).
func (r *Rules) Check(msg []byte) Result {
	var buf [24]field
	m := scan(msg, buf[:])
	if isResponseLine(m.start) {
		return r.checkResponse(msg, &m)
	}
	return r.checkRequest(msg, &m)
}

// isResponseLine tells a status line from a request line as sipgo's parser
// does: a request line ends with a SIP version after its second space; a
// status line begins with one.
func isResponseLine(line []byte) bool {
	sipPrefix := func(b []byte) bool {
		return len(b) >= 3 && (string(b[:3]) == "SIP" || string(b[:3]) == "sip")
	}
	if _, _, version, ok := splitStart(line); ok && sipPrefix(version) && bytes.IndexByte(version, ' ') < 0 {
		return false
	}
	return sipPrefix(line)
}

// checkRequest applies RFC 3261 §8.2 in this order: the start line (505
// for another version), the header fields without which no answer can be
// formed (400 naming the field), the method (501, 405), the Request-URI
// scheme (416), Require (420), the body's Content-Encoding (415), then
// every other field sipgo parses and the body length (400).
func (r *Rules) checkRequest(msg []byte, m *message) Result {
	method, uri, version, ok := splitStart(m.start)
	if !ok || !isToken(method) {
		return Result{Action: Drop, Code: 400, Reason: "Bad Request-Line"}
	}
	isACK := string(method) == "ACK"
	fail := func(code int, reason string, extra ...string) Result {
		if isACK {
			return Result{Action: Drop, Code: code, Reason: reason} // ACKs get no answer (RFC 3261 §17.2.1)
		}
		return Result{Action: Answer, Code: code, Reason: reason, Response: answer(m, code, reason, extra...)}
	}
	if !m.complete {
		return fail(400, "Incomplete Header Section")
	}
	if !bytes.HasPrefix(version, []byte("SIP/")) && !bytes.HasPrefix(version, []byte("sip/")) || bytes.IndexByte(version, ' ') >= 0 ||
		len(uri) == 0 || bytes.IndexByte(m.start, '\r') >= 0 {
		return fail(400, "Bad Request-Line")
	}
	if !bytes.EqualFold(version, []byte("SIP/2.0")) {
		return fail(505, "Version Not Supported")
	}
	if m.badLine != nil {
		return fail(400, "Bad Header Line")
	}

	// The fields every request carries (RFC 3261 §8.1.1): present, single
	// where the grammar allows one, well formed.
	hp := sip.HeadersParser(sip.DefaultHeadersParser())
	scratch := make([]byte, 0, 256)
	for _, h := range []hdr{hVia, hFrom, hTo, hCallID, hCSeq, hMaxForwards} {
		if m.count[h] == 0 {
			return fail(400, "Missing "+names[h])
		}
		if h != hVia && m.count[h] > 1 {
			return fail(400, "Duplicate "+names[h])
		}
	}
	if m.count[hContentLength] > 1 {
		return fail(400, "Duplicate Content-Length")
	}
	if reason := checkVias(m, hp, &scratch); reason != "" {
		return fail(400, reason)
	}
	for _, h := range []hdr{hFrom, hTo} {
		v, _ := m.get(h)
		if _, err := parseField(hp, &scratch, names[h], v); err != nil {
			return fail(400, "Bad "+names[h])
		}
	}
	if cid, _ := m.get(hCallID); !isCallID(cid) {
		return fail(400, "Bad Call-ID")
	}
	cseq, _ := m.get(hCSeq)
	cseqMethod, ok := parseCSeq(cseq)
	if !ok {
		return fail(400, "Bad CSeq")
	}
	if !bytes.Equal(cseqMethod, method) {
		return fail(400, "CSeq Method Mismatch")
	}
	if mf, _ := m.get(hMaxForwards); !isMaxForwards(mf) {
		return fail(400, "Bad Max-Forwards")
	}
	clen, hasLen := m.get(hContentLength)
	n, okLen := digits(clen, 1<<31)
	if hasLen && !okLen {
		return fail(400, "Bad Content-Length")
	}
	if r.Stream && !hasLen {
		return fail(400, "Missing Content-Length")
	}

	// RFC 3261 §8.2.1: the method.
	if !contains(r.Allow, method) {
		if contains(knownMethods, method) {
			return fail(405, "Method Not Allowed", "Allow: "+strings.Join(r.Allow, ", "))
		}
		return fail(501, "Not Implemented")
	}
	// §8.2.2.1: the Request-URI scheme.
	scheme, _, _ := bytes.Cut(uri, []byte(":"))
	if !bytes.EqualFold(scheme, []byte("sip")) && !bytes.EqualFold(scheme, []byte("sips")) {
		return fail(416, "Unsupported URI Scheme")
	}
	var ru sip.Uri
	if err := sip.ParseUri(string(uri), &ru); err != nil || ru.Wildcard || ru.Host == "" {
		return fail(400, "Bad Request-URI")
	}
	// §8.2.2.3: Require.
	if !isACK && string(method) != "CANCEL" {
		if unsupported := r.unsupported(m); unsupported != "" {
			return fail(420, "Bad Extension", "Unsupported: "+unsupported)
		}
	}
	// §8.2.3: a body in a content coding the server does not apply. Only
	// the identity coding is understood: 415 with Accept-Encoding.
	if !isACK && len(m.body) > 0 && r.foreignEncoding(m) {
		return fail(415, "Unsupported Media Type", "Accept-Encoding: identity")
	}
	// Every other field sipgo parses into a type, as it will.
	for _, f := range m.fields {
		h := lookup(f.name)
		if h == hVia || h == hFrom || h == hTo || h == hCallID || h == hCSeq || h == hMaxForwards || h == hContentLength {
			continue
		}
		if !sipgoParses(hp, f) {
			continue
		}
		if _, err := parseField(hp, &scratch, f.name, f.value); err != nil {
			return fail(400, "Bad "+canonicalName(f.name))
		}
	}
	// §18.3: a datagram shorter than its Content-Length (from a stream,
	// Frame waited for the whole body).
	if hasLen && int(n) > len(m.body) {
		return fail(400, "Bad Content-Length")
	}
	if len(msg) > sip.ParseMaxMessageLength {
		return fail(513, "Message Too Large")
	}
	return Result{Action: Pass}
}

// checkResponse passes a response sipgo can parse and match to a
// transaction (Via, From, To, Call-ID, CSeq present and well formed) and
// drops any other: responses are never answered (RFC 3261 §8.1.3.3 has
// the client discard a malformed one).
func (r *Rules) checkResponse(msg []byte, m *message) Result {
	drop := func(reason string) Result { return Result{Action: Drop, Reason: reason} }
	if !bytes.HasPrefix(m.start, []byte("SIP/2.0 ")) || !m.complete || m.badLine != nil {
		return drop("Bad Response")
	}
	for _, h := range []hdr{hVia, hFrom, hTo, hCallID, hCSeq} {
		if m.count[h] == 0 {
			return drop("Missing " + names[h])
		}
	}
	hp := sip.HeadersParser(sip.DefaultHeadersParser())
	scratch := make([]byte, 0, 256)
	if reason := checkVias(m, hp, &scratch); reason != "" {
		return drop(reason)
	}
	if cseq, _ := m.get(hCSeq); !isCSeq(cseq) {
		return drop("Bad CSeq")
	}
	if _, err := sip.ParseMessage(msg); err != nil {
		return drop("Bad Response")
	}
	return Result{Action: Pass}
}

// splitStart splits a request line as sipgo does: method, the text up to
// the next space, and the rest.
func splitStart(line []byte) (method, uri, version []byte, ok bool) {
	method, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return nil, nil, nil, false
	}
	uri, version, ok = bytes.Cut(rest, []byte(" "))
	return method, uri, version, ok
}

// checkVias checks every Via value: sipgo parses it, and its
// sent-protocol is SIP/2.0 over a transport token with a sent-by host
// (RFC 3261 §20.42).
func checkVias(m *message, hp sip.HeadersParser, scratch *[]byte) string {
	reason := ""
	m.each(hVia, func(v []byte) {
		if reason != "" {
			return
		}
		hs, err := parseField(hp, scratch, "Via", v)
		if err != nil || len(hs) == 0 {
			reason = "Bad Via"
			return
		}
		for _, h := range hs {
			via, ok := h.(*sip.ViaHeader)
			if !ok || !strings.EqualFold(via.ProtocolName, "SIP") || via.ProtocolVersion != "2.0" ||
				!isToken([]byte(via.Transport)) || via.Host == "" || via.Port < 0 || via.Port > 65535 {
				reason = "Bad Via"
				return
			}
		}
	})
	return reason
}

// parseCSeq parses CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16), the
// number below 2**31, and returns the method.
func parseCSeq(v []byte) ([]byte, bool) {
	i := bytes.IndexAny(v, " \t")
	if i <= 0 {
		return nil, false
	}
	if _, ok := digits(v[:i], maxCSeq); !ok {
		return nil, false
	}
	method := bytes.TrimLeft(v[i:], " \t")
	if !isToken(method) {
		return nil, false
	}
	// sipgo takes the method as the text after exactly one separator.
	if len(v)-i-1 != len(method) {
		return nil, false
	}
	return method, true
}

func isCSeq(v []byte) bool { _, ok := parseCSeq(v); return ok }

// isCallID: callid = word [ "@" word ] (RFC 3261 §25.1): printable, no
// whitespace.
func isCallID(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// isMaxForwards: 1*DIGIT, 0 to 255 (RFC 3261 §20.22).
func isMaxForwards(v []byte) bool {
	_, ok := digits(v, 255)
	return ok
}

// unsupported returns the option tags of Require the server does not
// support, comma-separated, or "".
func (r *Rules) unsupported(m *message) string {
	var out []string
	m.each(hRequire, func(v []byte) {
		for tag := range bytes.SplitSeq(v, []byte(",")) {
			tag = bytes.Trim(tag, " \t")
			if len(tag) > 0 && !containsFold(r.Supported, tag) {
				out = append(out, string(tag))
			}
		}
	})
	return strings.Join(out, ", ")
}

// foreignEncoding reports whether Content-Encoding names a coding other
// than identity (RFC 3261 §20.12).
func (r *Rules) foreignEncoding(m *message) bool {
	foreign := false
	m.each(hContentEncoding, func(v []byte) {
		for coding := range bytes.SplitSeq(v, []byte(",")) {
			if c := bytes.Trim(coding, " \t"); len(c) > 0 && !bytes.EqualFold(c, []byte("identity")) {
				foreign = true
			}
		}
	})
	return foreign
}

// sipgoParses reports whether sipgo parses field f into a type (and so
// refuses the whole message when it does not parse).
func sipgoParses(hp sip.HeadersParser, f field) bool {
	var lower [32]byte
	if len(f.name) > len(lower) {
		return false
	}
	for i, c := range f.name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	_, ok := hp[string(lower[:len(f.name)])]
	return ok
}

// parseField parses the field name: value with sipgo's parser for it,
// building the line in *scratch (sipgo keeps no reference to it).
func parseField[N string | []byte](hp sip.HeadersParser, scratch *[]byte, name N, value []byte) ([]sip.Header, error) {
	line := append((*scratch)[:0], name...)
	line = append(line, ':', ' ')
	line = append(line, value...)
	*scratch = line
	return hp.ParseHeader(nil, line)
}

// canonicalName is the name of a field for a reason phrase: its long form
// for a compact one, else as written (printable ASCII only).
func canonicalName(name []byte) string {
	if len(name) == 1 {
		switch name[0] | 0x20 {
		case 'c':
			return "Content-Type"
		case 'm':
			return "Contact"
		case 'r':
			return "Refer-To"
		case 'b':
			return "Referred-By"
		}
	}
	if !isToken(name) {
		return "Header"
	}
	return string(name)
}

func contains(list []string, b []byte) bool {
	for _, s := range list {
		if s == string(b) {
			return true
		}
	}
	return false
}

func containsFold(list []string, b []byte) bool {
	for _, s := range list {
		if strings.EqualFold(s, string(b)) {
			return true
		}
	}
	return false
}
