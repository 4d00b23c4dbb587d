package msrp

import "strings"

// Header names of RFC 4975 §9, RFC 4976 §7 and RFC 7701 §7.
const (
	HeaderToPath        = "To-Path"
	HeaderFromPath      = "From-Path"
	HeaderMessageID     = "Message-ID"
	HeaderSuccessReport = "Success-Report"
	HeaderFailureReport = "Failure-Report"
	HeaderByteRange     = "Byte-Range"
	HeaderStatus        = "Status"
	HeaderContentType   = "Content-Type"
	HeaderUseNickname   = "Use-Nickname"
	HeaderUsePath       = "Use-Path"
	HeaderExpires       = "Expires"
)

// Field is one header field as it appeared on the wire.
type Field struct {
	Name  string
	Value string
}

// Header is an ordered list of header fields. Received messages keep the
// order of the wire; unknown headers are preserved. Names are matched
// case-insensitively: RFC 4975 shows them capitalised but does not say that
// peers must, so parley accepts any case and writes the canonical one.
type Header []Field

// Lookup returns the value of the first field named name.
func (h Header) Lookup(name string) (string, bool) {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			return h[i].Value, true
		}
	}
	return "", false
}

// index returns the position of the first field named name, or -1.
func (h Header) index(name string) int {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			return i
		}
	}
	return -1
}

// Get returns the value of the first field named name, or "".
func (h Header) Get(name string) string {
	v, _ := h.Lookup(name)
	return v
}

// Has reports whether a field named name is present.
func (h Header) Has(name string) bool {
	_, ok := h.Lookup(name)
	return ok
}

// Count returns how many fields are named name.
func (h Header) Count(name string) int {
	n := 0
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			n++
		}
	}
	return n
}

// Values returns the values of every field named name, in order.
func (h Header) Values(name string) []string {
	var vs []string
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			vs = append(vs, h[i].Value)
		}
	}
	return vs
}

// Add appends a field.
func (h *Header) Add(name, value string) { *h = append(*h, Field{name, value}) }

// Set replaces the value of the first field named name and removes any
// others, or appends the field if there is none.
func (h *Header) Set(name, value string) {
	for i := range *h {
		if strings.EqualFold((*h)[i].Name, name) {
			(*h)[i].Value = value
			rest := (*h)[i+1:].del(name) // compacts in place
			*h = (*h)[:i+1+len(rest)]
			return
		}
	}
	h.Add(name, value)
}

// Del removes every field named name.
func (h *Header) Del(name string) { *h = (*h).del(name) }

func (h Header) del(name string) Header {
	out := h[:0]
	for _, f := range h {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	clear(h[len(out):])
	return out
}

// isMIMEHeader reports whether a header belongs to the MIME part of a
// request (RFC 4975 Other-Mime-header / Content-Type): every "Content-*" field.
func isMIMEHeader(name string) bool { return hasPrefixFold(name, "Content-") }
