package cpim

import (
	"strings"
	"time"
)

// Message is a parsed or built CPIM object.
//
// For a parsed message, Raw is the whole input and Body is Raw[ContentOffset:];
// a relay forwards Raw unchanged. The builder methods (AddCc, SetDateTime, …)
// clear Raw and the offsets, since they no longer describe the headers.
type Message struct {
	Headers     []Header // CPIM message headers, in wire order
	MIMEHeaders []Header // encapsulated MIME headers, in wire order
	Body        []byte   // the content, after the MIME headers' blank line

	Raw           []byte // the parsed input; nil for a built message
	MIMEOffset    int    // offset in Raw of the first MIME header line = length of the message header block
	ContentOffset int    // offset in Raw of Body
	CompactLayout bool   // no blank line before the MIME headers (RFC 7701 §9 examples)
}

// Subject is one Subject header: its decoded text and its lang parameter.
type Subject struct {
	Value string
	Lang  string // language tag, "" when absent
}

// Namespace is one NS header: NS: [ Name-prefix ] "<" URI ">". An empty
// Prefix declares the default namespace.
type Namespace struct {
	Prefix string
	URI    string
}

// Get returns the decoded value of the first message header named exactly
// name (case-sensitive), or "" if there is none. Escapes are decoded
// leniently: a backslash that starts no valid escape is kept.
func (m *Message) Get(name string) string {
	for _, h := range m.Headers {
		if h.Name == name {
			return unescape(h.Value)
		}
	}
	return ""
}

// Values returns the decoded values of all message headers named exactly
// name, in order.
func (m *Message) Values(name string) []string {
	var vs []string
	for _, h := range m.Headers {
		if h.Name == name {
			vs = append(vs, unescape(h.Value))
		}
	}
	return vs
}

// MIMEHeader returns the value of the first encapsulated MIME header whose
// name equals name case-insensitively (MIME header names are not
// case-sensitive), with surrounding whitespace removed; "" if there is none.
func (m *Message) MIMEHeader(name string) string {
	v, _ := m.mimeHeader(name)
	return v
}

func (m *Message) mimeHeader(name string) (string, bool) {
	for _, h := range m.MIMEHeaders {
		if equalFold(h.Name, name) {
			return trimWS(h.Value), true
		}
	}
	return "", false
}

// ContentType returns the encapsulated Content-Type, the media type of the
// content, e.g. "text/plain" or "text/xml; charset=utf-8", as written.
func (m *Message) ContentType() string { return m.MIMEHeader("Content-Type") }

// single returns the only header named name, or a *HeaderError wrapping
// ErrMissingHeader or ErrRepeatedHeader.
func (m *Message) single(name string) (Header, error) {
	var found Header
	n := 0
	for _, h := range m.Headers {
		if h.Name == name {
			if n++; n > 1 {
				return Header{}, headerErr(name, ErrRepeatedHeader)
			}
			found = h
		}
	}
	if n == 0 {
		return Header{}, headerErr(name, ErrMissingHeader)
	}
	return found, nil
}

// From returns the sender. Exactly one From header is required.
func (m *Message) From() (Address, error) {
	h, err := m.single("From")
	if err != nil {
		return Address{}, err
	}
	a, err := ParseAddress(h.Value)
	if err != nil {
		return Address{}, headerErr("From", err)
	}
	return a, nil
}

// To returns every To header in order. At least one is required; RFC 7701
// §6 wants exactly one, which callers check with len.
func (m *Message) To() ([]Address, error) {
	as, err := m.addresses("To")
	if err == nil && len(as) == 0 {
		err = headerErr("To", ErrMissingHeader)
	}
	return as, err
}

// Cc returns every cc header (lowercase, RFC 3862 §4.3) in order; nil if
// there is none. A "Cc" header is a different, unknown header.
func (m *Message) Cc() ([]Address, error) { return m.addresses("cc") }

func (m *Message) addresses(name string) ([]Address, error) {
	var as []Address
	for _, h := range m.Headers {
		if h.Name != name {
			continue
		}
		a, err := ParseAddress(h.Value)
		if err != nil {
			return nil, headerErr(name, err)
		}
		as = append(as, a)
	}
	return as, nil
}

// DateTime returns the DateTime header, an RFC 3339 date-time.
func (m *Message) DateTime() (time.Time, error) {
	h, err := m.single("DateTime")
	if err != nil {
		return time.Time{}, err
	}
	v := h.Value
	if strings.ContainsAny(v, "tz") { // RFC 3339 §5.6 allows lowercase t and z
		v = strings.ToUpper(v)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, headerErr("DateTime", invalidValue(err.Error()))
	}
	return t, nil
}

// Subjects returns every Subject header with its language tag, in order.
func (m *Message) Subjects() []Subject {
	var ss []Subject
	for _, h := range m.Headers {
		if h.Name == "Subject" {
			ss = append(ss, Subject{Value: unescape(h.Value), Lang: h.Lang()})
		}
	}
	return ss
}

// Require returns the header names listed in Require headers
// (Require: Header-name *( "," Header-name )), whitespace trimmed.
func (m *Message) Require() []string {
	var names []string
	for _, h := range m.Headers {
		if h.Name != "Require" {
			continue
		}
		for n := range strings.SplitSeq(h.Value, ",") {
			if n = trimWS(n); n != "" {
				names = append(names, n)
			}
		}
	}
	return names
}

// NS returns the namespace declarations in order.
func (m *Message) NS() ([]Namespace, error) {
	var ns []Namespace
	for _, h := range m.Headers {
		if h.Name != "NS" {
			continue
		}
		n, err := parseNamespace(h.Value)
		if err != nil {
			return nil, headerErr("NS", err)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// parseNamespace reads [ Name-prefix ] "<" URI ">"; the RFC examples put a
// SP between prefix and "<", the ABNF does not, so both are accepted.
func parseNamespace(v string) (Namespace, error) {
	v = trimWS(v)
	lt := strings.IndexByte(v, '<')
	if lt < 0 || !strings.HasSuffix(v, ">") {
		return Namespace{}, invalidValue("namespace URI not in angle brackets")
	}
	n := Namespace{Prefix: trimRightWS(v[:lt]), URI: v[lt+1 : len(v)-1]}
	for i := 0; i < len(n.Prefix); i++ {
		if !isNameChar(n.Prefix[i]) {
			return Namespace{}, invalidValue("invalid character in namespace prefix")
		}
	}
	if n.URI == "" || strings.ContainsAny(n.URI, "<> ") {
		return Namespace{}, invalidValue("invalid namespace URI")
	}
	return n, nil
}
