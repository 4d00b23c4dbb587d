package confinfo

import "encoding/xml"

// Users is <users> (RFC 4575 §5.6).
type Users struct {
	State State
	Users []User
	Ext   Extensions
}

// User is a <user>: one participant URI (RFC 4575 §5.6). In a chat room
// Entity is the participant's AOR, or its anonymous URI if it asked for
// privacy (RFC 7701 §5.2).
type User struct {
	Entity string
	State  State

	// Nickname is the xcon:nickname attribute (RFC 7701 §7.4, §9.6); ""
	// means absent. Parse accepts any prefix bound to XConNamespace.
	Nickname string

	DisplayText    string
	AssociatedAORs *URIs
	Roles          []string // <roles><entry>; other children of <roles> are dropped
	Languages      []string // xs:list of language tags
	CascadedFocus  string
	Endpoints      []Endpoint
	Ext            Extensions
}

// Endpoint is an <endpoint>: one device or session of a user (RFC 4575
// §5.7).
type Endpoint struct {
	Entity              string
	State               State
	DisplayText         string
	Referred            *Execution
	Status              EndpointStatus
	JoiningMethod       JoiningMethod
	JoiningInfo         *Execution
	DisconnectionMethod DisconnectionMethod
	DisconnectionInfo   *Execution
	Media               []Media
	CallInfo            *CallInfo
	Ext                 Extensions
}

// Execution is the RFC 4575 execution-type of <referred>, <joining-info>,
// <disconnection-info> and <modified> (§5.7.2).
type Execution struct {
	When   string // xs:dateTime, e.g. 2025-01-02T15:04:05Z; checked by Validate
	Reason string
	By     string // URI
	Ext    Extensions
}

// Media is a <media> stream of an endpoint (RFC 4575 §5.7.8).
type Media struct {
	ID          string // id attribute, required, unique within the endpoint
	DisplayText string
	Type        string // SDP media type, "message" for MSRP
	Label       string // SDP a=label of the stream
	SrcID       string
	Status      MediaStatus
	Ext         Extensions
}

// CallInfo is <call-info> (RFC 4575 §5.7.9).
type CallInfo struct {
	SIP *SIPDialog
	Ext Extensions
}

// SIPDialog is the <sip> child of <call-info>: the dialog between the
// endpoint and the focus. All three identifiers are required by the schema.
type SIPDialog struct {
	DisplayText string
	CallID      string
	FromTag     string
	ToTag       string
	Ext         Extensions
}

func (u *Users) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		if isAttr(a, "state") {
			s, err := d.state("users", a.Value, true)
			if err != nil {
				return err
			}
			u.State = s
		} else {
			u.Ext.attr(a)
		}
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name != (xml.Name{Space: Namespace, Local: "user"}) {
			return u.Ext.element(d, se)
		}
		var usr User
		err := usr.decode(d, se)
		u.Users = append(u.Users, usr)
		return err
	})
}

func (u *Users) encode(w *writer) {
	var attrs []xml.Attr
	if u.State != "" {
		attrs = append(attrs, stateAttr(w, "users", u.State))
	}
	w.open("users", attrs, u.Ext.Attrs)
	for i := range u.Users {
		u.Users[i].encode(w)
	}
	u.Ext.write(w)
	w.close()
}

func (u *User) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		switch {
		case isAttr(a, "entity"):
			u.Entity = a.Value
		case isAttr(a, "state"):
			s, err := d.state("user", a.Value, true)
			if err != nil {
				return err
			}
			u.State = s
		case a.Name == xml.Name{Space: XConNamespace, Local: "nickname"}:
			u.Nickname = a.Value
		default:
			u.Ext.attr(a)
		}
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name.Space != Namespace {
			return u.Ext.element(d, se)
		}
		var err error
		switch se.Name.Local {
		case "display-text":
			u.DisplayText, err = d.text(se)
		case "associated-aors":
			u.AssociatedAORs = new(URIs)
			err = u.AssociatedAORs.decode(d, se)
		case "roles":
			u.Roles, err = decodeRoles(d)
		case "languages":
			u.Languages, err = d.list(se)
		case "cascaded-focus":
			u.CascadedFocus, err = d.text(se)
		case "endpoint":
			var e Endpoint
			err = e.decode(d, se)
			u.Endpoints = append(u.Endpoints, e)
		default:
			err = u.Ext.element(d, se)
		}
		return err
	})
}

func decodeRoles(d *decoder) ([]string, error) {
	var roles []string
	err := d.children(func(se xml.StartElement) error {
		if se.Name != (xml.Name{Space: Namespace, Local: "entry"}) {
			return d.skip()
		}
		r, err := d.text(se)
		roles = append(roles, r)
		return err
	})
	return roles, err
}

func (u *User) encode(w *writer) {
	attrs := make([]xml.Attr, 0, 3)
	if u.Entity != "" {
		attrs = append(attrs, attr("entity", u.Entity))
	}
	if u.State != "" {
		attrs = append(attrs, stateAttr(w, "user", u.State))
	}
	if u.Nickname != "" {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Space: XConNamespace, Local: "nickname"}, Value: u.Nickname})
	}
	w.open("user", attrs, u.Ext.Attrs)
	w.optLeaf("display-text", u.DisplayText)
	if u.AssociatedAORs != nil {
		u.AssociatedAORs.encode(w, "associated-aors")
	}
	if len(u.Roles) > 0 {
		w.open("roles")
		for _, r := range u.Roles {
			w.leaf("entry", r)
		}
		w.close()
	}
	w.listLeaf("languages", u.Languages)
	w.optLeaf("cascaded-focus", u.CascadedFocus)
	for i := range u.Endpoints {
		u.Endpoints[i].encode(w)
	}
	u.Ext.write(w)
	w.close()
}

func (e *Endpoint) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		switch {
		case isAttr(a, "entity"):
			e.Entity = a.Value
		case isAttr(a, "state"):
			s, err := d.state("endpoint", a.Value, true)
			if err != nil {
				return err
			}
			e.State = s
		default:
			e.Ext.attr(a)
		}
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name.Space != Namespace {
			return e.Ext.element(d, se)
		}
		var err error
		var s string
		switch se.Name.Local {
		case "display-text":
			e.DisplayText, err = d.text(se)
		case "referred":
			e.Referred = new(Execution)
			err = e.Referred.decode(d, se)
		case "status":
			s, err = d.trimmed(se)
			e.Status = EndpointStatus(s)
		case "joining-method":
			s, err = d.trimmed(se)
			e.JoiningMethod = JoiningMethod(s)
		case "joining-info":
			e.JoiningInfo = new(Execution)
			err = e.JoiningInfo.decode(d, se)
		case "disconnection-method":
			s, err = d.trimmed(se)
			e.DisconnectionMethod = DisconnectionMethod(s)
		case "disconnection-info":
			e.DisconnectionInfo = new(Execution)
			err = e.DisconnectionInfo.decode(d, se)
		case "media":
			var m Media
			err = m.decode(d, se)
			e.Media = append(e.Media, m)
		case "call-info":
			e.CallInfo = new(CallInfo)
			err = e.CallInfo.decode(d, se)
		default:
			err = e.Ext.element(d, se)
		}
		return err
	})
}

func (e *Endpoint) encode(w *writer) {
	attrs := make([]xml.Attr, 0, 2)
	if e.Entity != "" {
		attrs = append(attrs, attr("entity", e.Entity))
	}
	if e.State != "" {
		attrs = append(attrs, stateAttr(w, "endpoint", e.State))
	}
	w.open("endpoint", attrs, e.Ext.Attrs)
	w.optLeaf("display-text", e.DisplayText)
	if e.Referred != nil {
		e.Referred.encode(w, "referred")
	}
	w.optLeaf("status", string(e.Status))
	w.optLeaf("joining-method", string(e.JoiningMethod))
	if e.JoiningInfo != nil {
		e.JoiningInfo.encode(w, "joining-info")
	}
	w.optLeaf("disconnection-method", string(e.DisconnectionMethod))
	if e.DisconnectionInfo != nil {
		e.DisconnectionInfo.encode(w, "disconnection-info")
	}
	for i := range e.Media {
		e.Media[i].encode(w)
	}
	if e.CallInfo != nil {
		e.CallInfo.encode(w)
	}
	e.Ext.write(w)
	w.close()
}

func (x *Execution) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		x.Ext.attr(a)
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name.Space != Namespace {
			return x.Ext.element(d, se)
		}
		var err error
		switch se.Name.Local {
		case "when":
			x.When, err = d.trimmed(se)
		case "reason":
			x.Reason, err = d.text(se)
		case "by":
			x.By, err = d.text(se)
		default:
			err = x.Ext.element(d, se)
		}
		return err
	})
}

func (x *Execution) encode(w *writer, local string) {
	w.open(local, x.Ext.Attrs)
	w.optLeaf("when", x.When)
	w.optLeaf("reason", x.Reason)
	w.optLeaf("by", x.By)
	x.Ext.write(w)
	w.close()
}

func (m *Media) decode(d *decoder, se xml.StartElement) error {
	hasID := false
	for _, a := range se.Attr {
		if isAttr(a, "id") {
			m.ID, hasID = a.Value, true
		} else {
			m.Ext.attr(a)
		}
	}
	if !hasID || m.ID == "" {
		return d.invalidf("<media> without id")
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name.Space != Namespace {
			return m.Ext.element(d, se)
		}
		var err error
		switch se.Name.Local {
		case "display-text":
			m.DisplayText, err = d.text(se)
		case "type":
			m.Type, err = d.text(se)
		case "label":
			m.Label, err = d.text(se)
		case "src-id":
			m.SrcID, err = d.text(se)
		case "status":
			var s string
			s, err = d.trimmed(se)
			m.Status = MediaStatus(s)
		default:
			err = m.Ext.element(d, se)
		}
		return err
	})
}

func (m *Media) encode(w *writer) {
	if m.ID == "" {
		w.fail("<media> without id")
		return
	}
	w.open("media", []xml.Attr{attr("id", m.ID)}, m.Ext.Attrs)
	w.optLeaf("display-text", m.DisplayText)
	w.optLeaf("type", m.Type)
	w.optLeaf("label", m.Label)
	w.optLeaf("src-id", m.SrcID)
	w.optLeaf("status", string(m.Status))
	m.Ext.write(w)
	w.close()
}

func (c *CallInfo) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		c.Ext.attr(a)
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name != (xml.Name{Space: Namespace, Local: "sip"}) {
			return c.Ext.element(d, se)
		}
		c.SIP = new(SIPDialog)
		return c.SIP.decode(d, se)
	})
}

func (c *CallInfo) encode(w *writer) {
	w.open("call-info", c.Ext.Attrs)
	if c.SIP != nil {
		c.SIP.encode(w)
	}
	c.Ext.write(w)
	w.close()
}

func (s *SIPDialog) decode(d *decoder, se xml.StartElement) error {
	for _, a := range se.Attr {
		s.Ext.attr(a)
	}
	return d.children(func(se xml.StartElement) error {
		if se.Name.Space != Namespace {
			return s.Ext.element(d, se)
		}
		var err error
		switch se.Name.Local {
		case "display-text":
			s.DisplayText, err = d.text(se)
		case "call-id":
			s.CallID, err = d.text(se)
		case "from-tag":
			s.FromTag, err = d.text(se)
		case "to-tag":
			s.ToTag, err = d.text(se)
		default:
			err = s.Ext.element(d, se)
		}
		return err
	})
}

func (s *SIPDialog) encode(w *writer) {
	w.open("sip", s.Ext.Attrs)
	w.optLeaf("display-text", s.DisplayText)
	w.leaf("call-id", s.CallID)
	w.leaf("from-tag", s.FromTag)
	w.leaf("to-tag", s.ToTag)
	s.Ext.write(w)
	w.close()
}
