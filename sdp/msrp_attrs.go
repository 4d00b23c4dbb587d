package sdp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/parley-im/parley/msrp"
)

// MSRP attribute names (RFC 4975 §8, RFC 6135, RFC 7701 §8).
const (
	AttrPath               = "path"
	AttrAcceptTypes        = "accept-types"
	AttrAcceptWrappedTypes = "accept-wrapped-types"
	AttrMaxSize            = "max-size"
	AttrSetup              = "setup"
	AttrChatroom           = "chatroom"
)

// Path parses a=path: one or more MSRP URIs separated by spaces, leftmost
// the first hop to connect to, rightmost the peer's endpoint (RFC 4975
// §8.2). Multi-URI paths through relays, ";ws" transports and ".invalid"
// hosts (RFC 7977) are accepted. Every URI must carry an explicit port.
//
// A missing attribute returns ErrNoPath. Other errors wrap ErrInvalidPath
// (and msrp.ErrInvalidURI for an unparsable URI); a repeated a=path is an
// error because it makes the route ambiguous.
func (m *Media) Path() ([]msrp.URI, error) {
	v, ok := m.Attr(AttrPath)
	if !ok {
		return nil, ErrNoPath
	}
	if attrCount(m.Attributes, AttrPath) > 1 {
		return nil, fmt.Errorf("%w: repeated a=path attribute", ErrInvalidPath)
	}
	path, err := msrp.ParsePath(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPath, err)
	}
	for _, u := range path {
		if !u.HasPort() {
			return nil, fmt.Errorf("%w: URI %q has no port (RFC 4975 §8.2)", ErrInvalidPath, u.String())
		}
	}
	return path, nil
}

// SetPath sets a=path to the URIs separated by single spaces.
func (m *Media) SetPath(path []msrp.URI) { m.SetAttr(AttrPath, msrp.FormatPath(path)) }

// AcceptTypes parses a=accept-types. A missing attribute returns
// ErrNoAcceptTypes; a malformed one an error wrapping ErrInvalidFormatList.
// With several a=accept-types lines the first is used.
func (m *Media) AcceptTypes() (FormatList, error) {
	v, ok := m.Attr(AttrAcceptTypes)
	if !ok {
		return nil, ErrNoAcceptTypes
	}
	l, err := ParseFormatList(v)
	if err != nil {
		return nil, fmt.Errorf("sdp: a=accept-types: %w", err)
	}
	return l, nil
}

// SetAcceptTypes sets a=accept-types, or removes it when l is empty.
func (m *Media) SetAcceptTypes(l FormatList) {
	if len(l) == 0 {
		m.DelAttr(AttrAcceptTypes)
		return
	}
	m.SetAttr(AttrAcceptTypes, l.String())
}

// AcceptWrappedTypes parses a=accept-wrapped-types; the bool reports
// whether the attribute is present (there is no default wrapped type,
// RFC 7701 §5.2). A malformed value returns an error wrapping
// ErrInvalidFormatList. With several lines the first is used.
func (m *Media) AcceptWrappedTypes() (FormatList, bool, error) {
	v, ok := m.Attr(AttrAcceptWrappedTypes)
	if !ok {
		return nil, false, nil
	}
	l, err := ParseFormatList(v)
	if err != nil {
		return nil, true, fmt.Errorf("sdp: a=accept-wrapped-types: %w", err)
	}
	return l, true, nil
}

// SetAcceptWrappedTypes sets a=accept-wrapped-types, or removes it when l is empty.
func (m *Media) SetAcceptWrappedTypes(l FormatList) {
	if len(l) == 0 {
		m.DelAttr(AttrAcceptWrappedTypes)
		return
	}
	m.SetAttr(AttrAcceptWrappedTypes, l.String())
}

// MaxSize parses a=max-size, the largest message in octets the peer wishes
// to receive (a hint, RFC 4975 §8.7). The bool reports whether the
// attribute is present. A value that is not 1*DIGIT fitting in an int64
// returns an error wrapping ErrInvalidMaxSize.
func (m *Media) MaxSize() (int64, bool, error) {
	v, ok := m.Attr(AttrMaxSize)
	if !ok {
		return 0, false, nil
	}
	d := strings.Trim(v, " \t")
	if d == "" {
		return 0, true, fmt.Errorf("%w: empty value", ErrInvalidMaxSize)
	}
	var n int64
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c < '0' || c > '9' {
			return 0, true, fmt.Errorf("%w %q: not a decimal number", ErrInvalidMaxSize, v)
		}
		if n > (1<<63-1-int64(c-'0'))/10 {
			return 0, true, fmt.Errorf("%w %q: too large", ErrInvalidMaxSize, v)
		}
		n = n*10 + int64(c-'0')
	}
	return n, true, nil
}

// SetMaxSize sets a=max-size:n; a negative n removes the attribute.
func (m *Media) SetMaxSize(n int64) {
	if n < 0 {
		m.DelAttr(AttrMaxSize)
		return
	}
	m.SetAttr(AttrMaxSize, strconv.FormatInt(n, 10))
}

// ValidateMSRP checks what the focus needs of an offered MSRP stream before
// it can join it: m is MSRP (ErrNotMSRP), its format list is exactly "*"
// (ErrMSRPFormats), a=path is present and valid (see Path),
// a=accept-types is present and valid (see AcceptTypes), and
// a=accept-wrapped-types, if present, is valid. It does not look at the
// port (call it for streams that are not rejected), at a=max-size (a hint)
// or at a=chatroom (never invalid). See also CheckMSRPConsistency.
func ValidateMSRP(m *Media) error {
	if !m.IsMSRP() {
		return fmt.Errorf("%w: m=%s %s", ErrNotMSRP, m.Type, m.Proto)
	}
	if len(m.Formats) != 1 || m.Formats[0] != "*" {
		return fmt.Errorf("%w, got %q", ErrMSRPFormats, strings.Join(m.Formats, " "))
	}
	if _, err := m.Path(); err != nil {
		return err
	}
	if _, err := m.AcceptTypes(); err != nil {
		return err
	}
	if _, _, err := m.AcceptWrappedTypes(); err != nil {
		return err
	}
	return nil
}

// NewMSRPMedia returns an MSRP media section for the local endpoint whose
// path is path (the rightmost URI being the local one): m=message with the
// rightmost URI's port, TCP/TLS/MSRP for an msrps URI else TCP/MSRP, the
// format "*", and a=path. The caller adds accept-types and the rest. It
// panics if path is empty.
func NewMSRPMedia(path []msrp.URI) *Media {
	local := path[len(path)-1]
	m := &Media{Type: "message", Port: local.Port, Proto: protoMSRP, Formats: []string{"*"}}
	if local.Secure {
		m.Proto = protoMSRPS
	}
	m.SetPath(path)
	return m
}
