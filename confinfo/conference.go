package confinfo

import (
	"encoding/xml"
	"strconv"
)

// Namespaces and MIME type of conference-info documents.
const (
	// Namespace is the RFC 4575 conference-info namespace.
	Namespace = "urn:ietf:params:xml:ns:conference-info"

	// XConNamespace is the RFC 6501 namespace of the nickname attribute
	// on <user> (RFC 7701 §7.4, §9.6). Marshal binds it to the prefix
	// "xcon" on the root element.
	XConNamespace = "urn:ietf:params:xml:ns:xcon-conference-info"

	// MIMEType is the body type of conference event notifications.
	MIMEType = "application/conference-info+xml"
)

// ConferenceInfo is an RFC 4575 <conference-info> document (§5.2).
type ConferenceInfo struct {
	Entity string // conference URI, the URI subscribed to
	State  State  // "" (absent, meaning full), full, partial or deleted

	// Version orders the notifications of one subscription. RFC 4575
	// §5.2 requires it; HasVersion records whether it is present and
	// Marshal writes it only then.
	Version    uint32
	HasVersion bool

	Description     *Description     // <conference-description>
	HostInfo        *HostInfo        // <host-info>
	ConferenceState *ConferenceState // <conference-state>
	Users           *Users           // <users>

	// Sidebars are kept opaque (RFC 7701 rooms have none).
	SidebarsByRef *Element // <sidebars-by-ref>
	SidebarsByVal *Element // <sidebars-by-val>

	Ext Extensions
}

// Description is <conference-description> (RFC 4575 §5.3).
type Description struct {
	DisplayText      string
	Subject          string
	FreeText         string
	Keywords         []string // xs:list: no white space inside an item
	ConfURIs         *URIs    // <conf-uris>
	ServiceURIs      *URIs    // <service-uris>
	MaximumUserCount *uint32
	AvailableMedia   *AvailableMedia
	Ext              Extensions
}

// URIs is the RFC 4575 uris-type: <conf-uris>, <service-uris>, the
// <uris> of <host-info> and the <associated-aors> of a user.
type URIs struct {
	State   State
	Entries []URIEntry
	Ext     Extensions
}

// URIEntry is an <entry> of a uris-type list (RFC 4575 §5.3.1).
type URIEntry struct {
	URI         string // required
	DisplayText string
	Purpose     string
	Modified    *Execution
	Ext         Extensions
}

// AvailableMedia is <available-media> (RFC 4575 §5.3.4).
type AvailableMedia struct {
	Entries []AvailableMedium
	Ext     Extensions
}

// AvailableMedium is an <entry> of <available-media>.
type AvailableMedium struct {
	Label       string // label attribute, required, unique
	DisplayText string
	Type        string // SDP media type, "message" for MSRP; required
	Status      MediaStatus
	Ext         Extensions
}

// HostInfo is <host-info> (RFC 4575 §5.4).
type HostInfo struct {
	DisplayText string
	WebPage     string
	URIs        *URIs
	Ext         Extensions
}

// ConferenceState is <conference-state> (RFC 4575 §5.5).
type ConferenceState struct {
	UserCount *uint32
	Active    *bool
	Locked    *bool
	Ext       Extensions
}

// Parse reads a conference-info document. See the package documentation
// for what is checked; Validate checks the rest.
func Parse(b []byte) (*ConferenceInfo, error) {
	d, err := newDecoder(b)
	if err != nil {
		return nil, err
	}
	se, err := d.root(xml.Name{Space: Namespace, Local: "conference-info"})
	if err != nil {
		return nil, err
	}
	c := new(ConferenceInfo)
	if err := c.decode(d, se); err != nil {
		return nil, err
	}
	if err := d.epilogue(); err != nil {
		return nil, err
	}
	return c, nil
}

// Marshal writes c as a UTF-8 document with an XML declaration. It fails
// (with ErrInvalid) only on what Parse would reject: a bad state value, a
// <media> without id, characters XML cannot carry. It does not call
// Validate.
func (c *ConferenceInfo) Marshal() ([]byte, error) {
	w := newWriter(Namespace)
	c.encode(w)
	return w.bytes()
}

func (c *ConferenceInfo) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		switch {
		case isAttr(a, "entity"):
			c.Entity = a.Value
		case isAttr(a, "state"):
			s, err := d.state("conference-info", a.Value, true)
			if err != nil {
				return err
			}
			c.State = s
		case isAttr(a, "version"):
			v, err := strconv.ParseUint(trimSpace(a.Value), 10, 32)
			if err != nil {
				return d.invalidf("<conference-info>: version %q is not an unsigned 32-bit integer", a.Value)
			}
			c.Version, c.HasVersion = uint32(v), true
		default:
			c.Ext.attr(a)
		}
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name.Space != Namespace {
			return c.Ext.element(d, se)
		}
		switch se.Name.Local {
		case "conference-description":
			c.Description = new(Description)
			return c.Description.decode(d, se)
		case "host-info":
			c.HostInfo = new(HostInfo)
			return c.HostInfo.decode(d, se)
		case "conference-state":
			c.ConferenceState = new(ConferenceState)
			return c.ConferenceState.decode(d, se)
		case "users":
			c.Users = new(Users)
			return c.Users.decode(d, se)
		case "sidebars-by-ref":
			e, err := d.element(se)
			c.SidebarsByRef = &e
			return err
		case "sidebars-by-val":
			e, err := d.element(se)
			c.SidebarsByVal = &e
			return err
		}
		return c.Ext.element(d, se)
	})
}

func (c *ConferenceInfo) encode(w *writer) {
	attrs := make([]xml.Attr, 0, 3)
	if c.Entity != "" {
		attrs = append(attrs, attr("entity", c.Entity))
	}
	if c.State != "" {
		attrs = append(attrs, stateAttr(w, "conference-info", c.State))
	}
	if c.HasVersion {
		attrs = append(attrs, attr("version", strconv.FormatUint(uint64(c.Version), 10)))
	}
	w.openRoot("conference-info", []binding{{"xcon", XConNamespace}}, attrs, c.Ext.Attrs)
	if c.Description != nil {
		c.Description.encode(w)
	}
	if c.HostInfo != nil {
		c.HostInfo.encode(w)
	}
	if c.ConferenceState != nil {
		c.ConferenceState.encode(w)
	}
	if c.Users != nil {
		c.Users.encode(w)
	}
	if c.SidebarsByRef != nil {
		w.element(c.SidebarsByRef)
	}
	if c.SidebarsByVal != nil {
		w.element(c.SidebarsByVal)
	}
	c.Ext.write(w)
	w.close()
}

func (c *Description) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		c.Ext.attr(a)
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name.Space != Namespace {
			return c.Ext.element(d, se)
		}
		var err error
		switch se.Name.Local {
		case "display-text":
			c.DisplayText, err = d.text(se)
		case "subject":
			c.Subject, err = d.text(se)
		case "free-text":
			c.FreeText, err = d.text(se)
		case "keywords":
			c.Keywords, err = d.list(se)
		case "conf-uris":
			c.ConfURIs = new(URIs)
			err = c.ConfURIs.decode(d, se)
		case "service-uris":
			c.ServiceURIs = new(URIs)
			err = c.ServiceURIs.decode(d, se)
		case "maximum-user-count":
			c.MaximumUserCount, err = d.uint32Value(se)
		case "available-media":
			c.AvailableMedia = new(AvailableMedia)
			err = c.AvailableMedia.decode(d, se)
		default:
			err = c.Ext.element(d, se)
		}
		return err
	})
}

func (c *Description) encode(w *writer) {
	w.open("conference-description", c.Ext.Attrs)
	w.optLeaf("display-text", c.DisplayText)
	w.optLeaf("subject", c.Subject)
	w.optLeaf("free-text", c.FreeText)
	w.listLeaf("keywords", c.Keywords)
	if c.ConfURIs != nil {
		c.ConfURIs.encode(w, "conf-uris")
	}
	if c.ServiceURIs != nil {
		c.ServiceURIs.encode(w, "service-uris")
	}
	w.uintLeaf("maximum-user-count", c.MaximumUserCount)
	if c.AvailableMedia != nil {
		c.AvailableMedia.encode(w)
	}
	c.Ext.write(w)
	w.close()
}

func (u *URIs) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		if isAttr(a, "state") {
			s, err := d.state(se.Name.Local, a.Value, true)
			if err != nil {
				return err
			}
			u.State = s
		} else {
			u.Ext.attr(a)
		}
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name != (xml.Name{Space: Namespace, Local: "entry"}) {
			return u.Ext.element(d, se)
		}
		var e URIEntry
		for _, a := range se.Attr {
			e.Ext.attr(a)
		}
		err := d.children(func(se xml.StartElement) error {
			if se.Name.Space != Namespace {
				return e.Ext.element(d, se)
			}
			var err error
			switch se.Name.Local {
			case "uri":
				e.URI, err = d.text(se)
			case "display-text":
				e.DisplayText, err = d.text(se)
			case "purpose":
				e.Purpose, err = d.text(se)
			case "modified":
				e.Modified = new(Execution)
				err = e.Modified.decode(d, se)
			default:
				err = e.Ext.element(d, se)
			}
			return err
		})
		u.Entries = append(u.Entries, e)
		return err
	})
}

func (u *URIs) encode(w *writer, local string) {
	var attrs []xml.Attr
	if u.State != "" {
		attrs = append(attrs, stateAttr(w, local, u.State))
	}
	w.open(local, attrs, u.Ext.Attrs)
	for i := range u.Entries {
		e := &u.Entries[i]
		w.open("entry", e.Ext.Attrs)
		w.leaf("uri", e.URI)
		w.optLeaf("display-text", e.DisplayText)
		w.optLeaf("purpose", e.Purpose)
		if e.Modified != nil {
			e.Modified.encode(w, "modified")
		}
		e.Ext.write(w)
		w.close()
	}
	u.Ext.write(w)
	w.close()
}

func (m *AvailableMedia) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		m.Ext.attr(a)
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name != (xml.Name{Space: Namespace, Local: "entry"}) {
			return m.Ext.element(d, se)
		}
		var e AvailableMedium
		for _, a := range se.Attr {
			if isAttr(a, "label") {
				e.Label = a.Value
			} else {
				e.Ext.attr(a)
			}
		}
		err := d.children(func(se xml.StartElement) error {
			if se.Name.Space != Namespace {
				return e.Ext.element(d, se)
			}
			var err error
			switch se.Name.Local {
			case "display-text":
				e.DisplayText, err = d.text(se)
			case "type":
				e.Type, err = d.text(se)
			case "status":
				var s string
				s, err = d.trimmed(se)
				e.Status = MediaStatus(s)
			default:
				err = e.Ext.element(d, se)
			}
			return err
		})
		m.Entries = append(m.Entries, e)
		return err
	})
}

func (m *AvailableMedia) encode(w *writer) {
	w.open("available-media", m.Ext.Attrs)
	for i := range m.Entries {
		e := &m.Entries[i]
		var attrs []xml.Attr
		if e.Label != "" {
			attrs = append(attrs, attr("label", e.Label))
		}
		w.open("entry", attrs, e.Ext.Attrs)
		w.optLeaf("display-text", e.DisplayText)
		w.leaf("type", e.Type)
		w.optLeaf("status", string(e.Status))
		e.Ext.write(w)
		w.close()
	}
	m.Ext.write(w)
	w.close()
}

func (h *HostInfo) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		h.Ext.attr(a)
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name.Space != Namespace {
			return h.Ext.element(d, se)
		}
		var err error
		switch se.Name.Local {
		case "display-text":
			h.DisplayText, err = d.text(se)
		case "web-page":
			h.WebPage, err = d.text(se)
		case "uris":
			h.URIs = new(URIs)
			err = h.URIs.decode(d, se)
		default:
			err = h.Ext.element(d, se)
		}
		return err
	})
}

func (h *HostInfo) encode(w *writer) {
	w.open("host-info", h.Ext.Attrs)
	w.optLeaf("display-text", h.DisplayText)
	w.optLeaf("web-page", h.WebPage)
	if h.URIs != nil {
		h.URIs.encode(w, "uris")
	}
	h.Ext.write(w)
	w.close()
}

func (s *ConferenceState) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		s.Ext.attr(a)
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name.Space != Namespace {
			return s.Ext.element(d, se)
		}
		var err error
		switch se.Name.Local {
		case "user-count":
			s.UserCount, err = d.uint32Value(se)
		case "active":
			s.Active, err = d.boolValue(se)
		case "locked":
			s.Locked, err = d.boolValue(se)
		default:
			err = s.Ext.element(d, se)
		}
		return err
	})
}

func (s *ConferenceState) encode(w *writer) {
	w.open("conference-state", s.Ext.Attrs)
	w.uintLeaf("user-count", s.UserCount)
	w.boolLeaf("active", s.Active)
	w.boolLeaf("locked", s.Locked)
	s.Ext.write(w)
	w.close()
}

// attr returns an unqualified attribute.
func attr(local, value string) xml.Attr {
	return xml.Attr{Name: xml.Name{Local: local}, Value: value}
}

// stateAttr returns a state attribute, failing w on a bad value so that
// Marshal never writes what Parse rejects.
func stateAttr(w *writer, elem string, s State) xml.Attr {
	if !s.Valid() {
		w.fail("<%s>: bad state %q", elem, s)
	}
	return attr("state", string(s))
}
