package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// sipMsg is a SIP message as the lean path needs it: the start line, the
// headers (names lower-cased, compact forms expanded) and the body. It is
// deliberately minimal: parleyd is the only peer.
type sipMsg struct {
	request bool
	method  string // request method; for a response, the CSeq method
	code    int    // response status code
	reason  string
	ruri    string // request URI
	headers [][2]string
	body    []byte
}

// compactHeaders maps RFC 3261 §7.3.3 compact header names to full ones.
var compactHeaders = map[string]string{
	"i": "call-id", "v": "via", "f": "from", "t": "to", "l": "content-length",
	"c": "content-type", "m": "contact", "k": "supported", "o": "event", "s": "subject",
}

// get returns the first value of header name (lower case), "" when absent.
func (m *sipMsg) get(name string) string {
	for _, h := range m.headers {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

// all returns every value of header name, in order.
func (m *sipMsg) all(name string) []string {
	var out []string
	for _, h := range m.headers {
		if h[0] == name {
			out = append(out, h[1])
		}
	}
	return out
}

// branch is the branch parameter of the top Via.
func (m *sipMsg) branch() string { return headerParam(firstValue(m.get("via")), "branch") }

// cseq returns the CSeq number and method.
func (m *sipMsg) cseq() (int, string) {
	f := strings.Fields(m.get("cseq"))
	if len(f) != 2 {
		return 0, ""
	}
	n, _ := strconv.Atoi(f[0])
	return n, f[1]
}

// firstValue is the first of comma-separated header values (Via may carry several).
func firstValue(v string) string {
	if i := strings.IndexByte(v, ','); i >= 0 {
		return v[:i]
	}
	return v
}

// headerParam returns the value of ;name=value in a header value, outside
// the angle brackets of a name-addr.
func headerParam(v, name string) string {
	if i := strings.LastIndexByte(v, '>'); i >= 0 {
		v = v[i+1:]
	}
	for _, p := range strings.Split(v, ";")[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, name) {
			return val
		}
	}
	return ""
}

// angleURI returns the URI inside <…> of a name-addr, or the value up to
// its first ';' when it has no angle brackets.
func angleURI(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i+1 : i+j]
		}
	}
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

var errSIPSyntax = errors.New("malformed SIP message")

// parseSIPHead parses the start line and headers (without the blank line).
func parseSIPHead(lines []string) (*sipMsg, error) {
	if len(lines) == 0 {
		return nil, errSIPSyntax
	}
	m := &sipMsg{}
	first := lines[0]
	if strings.HasPrefix(first, "SIP/2.0 ") {
		rest := first[len("SIP/2.0 "):]
		codeS, reason, _ := strings.Cut(rest, " ")
		code, err := strconv.Atoi(codeS)
		if err != nil || code < 100 || code > 699 {
			return nil, fmt.Errorf("%w: status line %q", errSIPSyntax, first)
		}
		m.code, m.reason = code, reason
	} else {
		f := strings.Fields(first)
		if len(f) != 3 || f[2] != "SIP/2.0" {
			return nil, fmt.Errorf("%w: request line %q", errSIPSyntax, first)
		}
		m.request, m.method, m.ruri = true, f[0], f[1]
	}
	for _, l := range lines[1:] {
		if l != "" && (l[0] == ' ' || l[0] == '\t') && len(m.headers) > 0 { // folded line
			m.headers[len(m.headers)-1][1] += " " + strings.TrimSpace(l)
			continue
		}
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("%w: header line %q", errSIPSyntax, l)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if full, ok := compactHeaders[name]; ok {
			name = full
		}
		m.headers = append(m.headers, [2]string{name, strings.TrimSpace(val)})
	}
	if !m.request {
		_, m.method = m.cseq()
	}
	return m, nil
}

// readSIPStream reads one message from a stream transport (TCP), framed by
// Content-Length (RFC 3261 §18.3). Keep-alive CRLFs before it are skipped.
func readSIPStream(r *bufio.Reader) (*sipMsg, error) {
	var lines []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			if err == io.EOF && len(lines) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			if len(lines) == 0 {
				continue // keep-alive
			}
			break
		}
		if len(lines) > 200 {
			return nil, fmt.Errorf("%w: too many header lines", errSIPSyntax)
		}
		lines = append(lines, l)
	}
	m, err := parseSIPHead(lines)
	if err != nil {
		return nil, err
	}
	n := 0
	if cl := m.get("content-length"); cl != "" {
		if n, err = strconv.Atoi(cl); err != nil || n < 0 || n > 1<<20 {
			return nil, fmt.Errorf("%w: Content-Length %q", errSIPSyntax, cl)
		}
	}
	if n > 0 {
		m.body = make([]byte, n)
		if _, err := io.ReadFull(r, m.body); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// parseSIPDatagram parses one message received over UDP.
func parseSIPDatagram(b []byte) (*sipMsg, error) {
	head, body, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	lines := strings.Split(strings.TrimLeft(string(head), "\r\n"), "\r\n")
	m, err := parseSIPHead(lines)
	if err != nil {
		return nil, err
	}
	if cl := m.get("content-length"); cl != "" {
		if n, err := strconv.Atoi(cl); err == nil && n >= 0 && n <= len(body) {
			body = body[:n]
		}
	}
	m.body = bytes.Clone(body)
	return m, nil
}

// response builds a response to request m (RFC 3261 §8.2.6): Via, From,
// To (with a tag when it has none), Call-ID and CSeq copied.
func (m *sipMsg) response(code int, reason, toTag string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range m.all("via") {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	fmt.Fprintf(&b, "From: %s\r\n", m.get("from"))
	to := m.get("to")
	if headerParam(to, "tag") == "" && toTag != "" {
		to += ";tag=" + toTag
	}
	fmt.Fprintf(&b, "To: %s\r\nCall-ID: %s\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n", to, m.get("call-id"), m.get("cseq"))
	return []byte(b.String())
}
