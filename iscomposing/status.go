package iscomposing

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ContentType is the media type of an isComposing document (RFC 3994 §7).
const ContentType = "application/im-iscomposing+xml"

// Namespace is the XML namespace of the <isComposing> root (RFC 3994 §6).
const Namespace = "urn:ietf:params:xml:ns:im-iscomposing"

// The states of RFC 3994 §3.
const (
	Active = "active"
	Idle   = "idle"
)

// Timing of RFC 3994 §3 and §4.
const (
	// IdleTimeout is how long a sender waits without typing before it
	// sends an idle state (the default of §3: 15 s).
	IdleTimeout = 15 * time.Second
	// RefreshInterval is how often a sender repeats an active state while
	// the user goes on typing: §3 says no more often than every 60 s; the
	// value goes in <refresh> so that the receiver knows.
	RefreshInterval = 60 * time.Second
	// DefaultActiveTimeout is how long a receiver shows an active state
	// that carries no <refresh> (§4: 120 s).
	DefaultActiveTimeout = 120 * time.Second
)

// MaxSize is the largest document Parse reads. A status is a few hundred
// octets; anything much larger is not one.
const MaxSize = 4096

// Status is an isComposing document.
type Status struct {
	// State is Active or Idle. Parse turns any other value into Idle.
	State string
	// LastActive is <lastactive>, when the user last typed (zero: absent).
	LastActive time.Time
	// ContentType is <contenttype>, the type of the content being composed
	// ("text/plain", "audio"…; "": absent).
	ContentType string
	// Refresh is <refresh>, the interval within which an active state will
	// be repeated (zero: absent). Marshal writes it only for Active.
	Refresh time.Duration
}

// IsActive reports whether s shows someone composing.
func (s Status) IsActive() bool { return s.State == Active }

// Expires is when a receiver stops showing s as active if nothing else
// arrives (RFC 3994 §4): received + Refresh, or + DefaultActiveTimeout
// when s has no refresh. For an idle state it is received itself.
func (s Status) Expires(received time.Time) time.Time {
	if !s.IsActive() {
		return received
	}
	if s.Refresh > 0 {
		return received.Add(s.Refresh)
	}
	return received.Add(DefaultActiveTimeout)
}

// Errors of Parse and Marshal.
var (
	// ErrNotStatus: the input is not an isComposing document (another root
	// element or namespace, not XML, too large, a DOCTYPE).
	ErrNotStatus = errors.New("iscomposing: not an isComposing document")
	// ErrInvalid: an isComposing document with a bad value (no state or two,
	// a refresh that is not a positive integer, a time that is not an
	// xs:dateTime).
	ErrInvalid = errors.New("iscomposing: invalid document")
)

// Marshal writes s as an isComposing document in the shape of RFC 3994's
// examples: an XML declaration, the root with its namespace, then state,
// lastactive, contenttype and refresh, each when set. It fails with
// ErrInvalid when State is neither Active nor Idle, or ContentType holds
// characters that cannot be a media type.
func (s Status) Marshal() ([]byte, error) {
	if s.State != Active && s.State != Idle {
		return nil, fmt.Errorf("%w: state %q", ErrInvalid, s.State)
	}
	if !mediaTypeLike(s.ContentType) {
		return nil, fmt.Errorf("%w: content type %q", ErrInvalid, s.ContentType)
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<isComposing xmlns="` + Namespace + `">` + "\n")
	b.WriteString("  <state>" + s.State + "</state>\n")
	if !s.LastActive.IsZero() {
		b.WriteString("  <lastactive>" + s.LastActive.UTC().Format(time.RFC3339) + "</lastactive>\n")
	}
	if s.ContentType != "" {
		b.WriteString("  <contenttype>" + s.ContentType + "</contenttype>\n")
	}
	if s.IsActive() && s.Refresh > 0 {
		secs := int64((s.Refresh + time.Second - 1) / time.Second)
		b.WriteString("  <refresh>" + strconv.FormatInt(secs, 10) + "</refresh>\n")
	}
	b.WriteString("</isComposing>\n")
	return b.Bytes(), nil
}

// mediaTypeLike reports whether v can go in <contenttype> as it is: the
// characters of a MIME type or subtype (RFC 2045 tokens and '/'), nothing
// that XML would need escaped.
func mediaTypeLike(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%'*+-.^_`|~/", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Parse reads an isComposing document. See the package documentation for
// what it accepts; errors wrap ErrNotStatus or ErrInvalid.
func Parse(doc []byte) (Status, error) {
	var s Status
	if len(doc) > MaxSize {
		return s, fmt.Errorf("%w: %d octets (max %d)", ErrNotStatus, len(doc), MaxSize)
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	root := false
	depth := 0
	var field string // the child of the root whose text is being read
	var text strings.Builder
	states := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Status{}, fmt.Errorf("%w: %w", ErrNotStatus, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return Status{}, fmt.Errorf("%w: a DOCTYPE or other directive", ErrNotStatus)
		case xml.StartElement:
			depth++
			switch {
			case depth == 1:
				if root {
					return Status{}, fmt.Errorf("%w: more than one root element", ErrNotStatus)
				}
				if t.Name.Local != "isComposing" || t.Name.Space != Namespace {
					return Status{}, fmt.Errorf("%w: root {%s}%s", ErrNotStatus, t.Name.Space, t.Name.Local)
				}
				root = true
			case depth == 2 && t.Name.Space == Namespace:
				field = t.Name.Local
				text.Reset()
			case depth == 3 && field != "":
				// An element inside a text-only element.
				return Status{}, fmt.Errorf("%w: element <%s> inside <%s>", ErrInvalid, t.Name.Local, field)
			}
		case xml.CharData:
			if depth == 2 && field != "" {
				if text.Len()+len(t) > MaxSize {
					return Status{}, fmt.Errorf("%w: <%s> too long", ErrInvalid, field)
				}
				text.Write(t)
			} else if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return Status{}, fmt.Errorf("%w: text outside the root", ErrNotStatus)
			}
		case xml.EndElement:
			if depth == 2 && field != "" {
				if err := s.set(field, strings.TrimSpace(text.String()), &states); err != nil {
					return Status{}, err
				}
				field = ""
			}
			depth--
		}
	}
	if !root {
		return Status{}, fmt.Errorf("%w: no root element", ErrNotStatus)
	}
	if states != 1 {
		return Status{}, fmt.Errorf("%w: %d <state> elements (want 1)", ErrInvalid, states)
	}
	return s, nil
}

// set stores the text v of the root's child element name.
func (s *Status) set(name, v string, states *int) error {
	switch name {
	case "state":
		*states++
		if v == Active {
			s.State = Active
		} else {
			s.State = Idle // RFC 3994 §4: anything else is idle
		}
	case "lastactive":
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return fmt.Errorf("%w: lastactive %q", ErrInvalid, v)
		}
		s.LastActive = t
	case "contenttype":
		if !mediaTypeLike(v) {
			return fmt.Errorf("%w: contenttype %q", ErrInvalid, v)
		}
		s.ContentType = v
	case "refresh":
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return fmt.Errorf("%w: refresh %q (want a positive integer)", ErrInvalid, v)
		}
		s.Refresh = time.Duration(n) * time.Second
	}
	return nil
}
