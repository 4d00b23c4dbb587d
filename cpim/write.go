package cpim

import (
	"errors"
	"strings"
	"time"
)

// New builds a message from one sender to one or more recipients. The
// message headers start as From and To (in the order given); the MIME headers
// as Content-Type. Add the optional headers with the methods below; they are
// written in the order they were added, so add an NS header before the
// headers that use its prefix.
//
// Addresses are formatted with Address.Append; their URIs are written as
// they are and must not contain ">" or control characters.
func New(from Address, to []Address, contentType string, body []byte) *Message {
	m := &Message{
		Headers:     make([]Header, 0, 2+len(to)),
		MIMEHeaders: []Header{{Name: "Content-Type", Value: contentType}},
		Body:        body,
	}
	m.Headers = append(m.Headers, Header{Name: "From", Value: from.String()})
	for _, a := range to {
		m.Headers = append(m.Headers, Header{Name: "To", Value: a.String()})
	}
	return m
}

// built forgets the parse offsets once the headers no longer match Raw.
func (m *Message) built() {
	m.Raw, m.MIMEOffset, m.ContentOffset, m.CompactLayout = nil, 0, 0, false
}

// AddCc adds a cc header.
func (m *Message) AddCc(a Address) {
	m.built()
	m.Headers = append(m.Headers, Header{Name: "cc", Value: a.String()})
}

// SetDateTime sets the DateTime header (RFC 3339, with fractional seconds
// only when t has them), replacing any existing one.
func (m *Message) SetDateTime(t time.Time) {
	m.set("DateTime", t.Format(time.RFC3339Nano))
}

// AddSubject adds a Subject header with an optional language tag. Several
// Subject headers must have different tags (see Validate).
func (m *Message) AddSubject(text, lang string) {
	m.built()
	h := Header{Name: "Subject", Value: string(appendEscapedValue(nil, text))}
	if lang != "" {
		h.Params = ";lang=" + lang
	}
	m.Headers = append(m.Headers, h)
}

// AddNS declares a namespace prefix (empty for the default namespace).
func (m *Message) AddNS(prefix, uri string) {
	m.built()
	v := "<" + uri + ">"
	if prefix != "" {
		v = prefix + " " + v
	}
	m.Headers = append(m.Headers, Header{Name: "NS", Value: v})
}

// SetRequire sets the Require header to the given header names, replacing
// any existing one.
func (m *Message) SetRequire(names ...string) {
	m.set("Require", strings.Join(names, ","))
}

func (m *Message) set(name, value string) {
	m.built()
	for i := range m.Headers {
		if m.Headers[i].Name == name {
			m.Headers[i] = Header{Name: name, Value: value}
			return
		}
	}
	m.Headers = append(m.Headers, Header{Name: name, Value: value})
}

// AddHeader adds a message header with the given name and text; the text is
// escaped as needed. name must be a Header-name ([ Name-prefix "." ] Name)
// and must not start with "Content-", which readers of the compact layout
// take for the start of the MIME headers.
func (m *Message) AddHeader(name, text string) error {
	if err := checkHeaderName(name); err != nil {
		return err
	}
	m.built()
	m.Headers = append(m.Headers, Header{Name: name, Value: string(appendEscapedValue(nil, text))})
	return nil
}

func checkHeaderName(name string) error {
	if hasPrefixFold(name, "Content-") {
		return errors.New("cpim: message header name starts with Content-: " + name)
	}
	prefix, local, ok := strings.Cut(name, ".")
	if !ok {
		prefix, local = "", name
	} else if prefix == "" {
		return errors.New("cpim: empty namespace prefix in header name: " + name)
	}
	if local == "" {
		return errors.New("cpim: empty header name")
	}
	for _, part := range [2]string{prefix, local} {
		for i := 0; i < len(part); i++ {
			if !isNameChar(part[i]) {
				return errors.New("cpim: invalid character in header name: " + name)
			}
		}
	}
	return nil
}

// AddMIMEHeader adds an encapsulated MIME header after the existing ones
// (Content-Type stays first). MIME values have no escape mechanism, so a
// value with control characters other than HTAB is refused.
func (m *Message) AddMIMEHeader(name, value string) error {
	if name == "" {
		return errors.New("cpim: empty MIME header name")
	}
	for i := 0; i < len(name); i++ {
		if !isWireNameChar(name[i]) {
			return errors.New("cpim: invalid character in MIME header name: " + name)
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; isCTL(c) && c != '\t' {
			return errors.New("cpim: control character in MIME header value")
		}
	}
	m.built()
	m.MIMEHeaders = append(m.MIMEHeaders, Header{Name: name, Value: value})
	return nil
}

// AppendTo appends the message to dst in the RFC 3862 layout: the message
// headers, a blank line, the MIME headers, a blank line, the content. Lines
// end in CRLF. A parsed message is normalized (layout, line endings, the SP
// after each colon); to forward a received message unchanged use Raw.
func (m *Message) AppendTo(dst []byte) []byte {
	for _, h := range m.Headers {
		dst = appendHeader(dst, h)
	}
	dst = append(dst, '\r', '\n')
	for _, h := range m.MIMEHeaders {
		dst = appendHeader(dst, Header{Name: h.Name, Value: h.Value})
	}
	dst = append(dst, '\r', '\n')
	return append(dst, m.Body...)
}

// Bytes returns the message in the RFC 3862 layout (see AppendTo).
func (m *Message) Bytes() []byte { return m.AppendTo(make([]byte, 0, m.size())) }

func (m *Message) size() int {
	n := 4 + len(m.Body)
	for _, hs := range [2][]Header{m.Headers, m.MIMEHeaders} {
		for _, h := range hs {
			n += len(h.Name) + len(h.Params) + len(h.Value) + 4
		}
	}
	return n
}
