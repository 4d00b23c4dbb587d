package sdp

import "strings"

// Session is a parsed session description.
type Session struct {
	Version    int         // v=, always 0
	Origin     Origin      // o=
	Name       string      // s=, as written (RFC 4975 examples use " -")
	Connection *Connection // session-level c=, nil if absent

	// Lines holds the other session-level lines except a= (t=, b=, i=,
	// unknown types, a repeated c=), in input order.
	Lines []Line
	// Attributes holds the session-level a= lines in input order.
	Attributes []Attribute

	Media []*Media
}

// Origin is the o= line: username, sess-id, sess-version, nettype, addrtype
// and unicast-address, kept as the strings written (RFC 4566 §5.2).
type Origin struct {
	Username       string
	SessionID      string
	SessionVersion string
	NetType        string
	AddrType       string
	Address        string
}

// Connection is a c= line: "IN IP4 192.0.2.1". Address is kept as written,
// including any multicast "/ttl/count" suffix.
type Connection struct {
	NetType  string
	AddrType string
	Address  string
}

// Host returns the connection address without a multicast "/ttl" or
// "/count" suffix.
func (c *Connection) Host() string {
	h, _, _ := strings.Cut(c.Address, "/")
	return h
}

// String formats the value of the c= line.
func (c *Connection) String() string {
	return c.NetType + " " + c.AddrType + " " + c.Address
}

// NewConnection returns an "IN IP4" or "IN IP6" connection for addr, an IP
// address or a host name. IPv6 is chosen when addr contains a colon.
func NewConnection(addr string) *Connection {
	at := "IP4"
	if strings.IndexByte(addr, ':') >= 0 {
		at = "IP6"
	}
	return &Connection{NetType: "IN", AddrType: at, Address: addr}
}

// Line is a line the codec keeps without interpreting it: Type is its
// letter, Value everything after the "=".
type Line struct {
	Type  byte
	Value string
}

// String formats the line without a line ending.
func (l Line) String() string { return string(l.Type) + "=" + l.Value }

// ConnectionFor returns the connection that applies to m: its own c= line,
// else the session-level one. It returns nil when neither exists.
func (s *Session) ConnectionFor(m *Media) *Connection {
	if m != nil && m.Connection != nil {
		return m.Connection
	}
	return s.Connection
}

// Attr returns the value of the first session-level attribute called name
// (compared case-insensitively) and whether there is one.
func (s *Session) Attr(name string) (string, bool) { return attrGet(s.Attributes, name) }

// Attrs returns the values of every session-level attribute called name.
func (s *Session) Attrs(name string) []string { return attrGetAll(s.Attributes, name) }

// HasAttr reports whether a session-level attribute called name exists.
func (s *Session) HasAttr(name string) bool {
	_, ok := s.Attr(name)
	return ok
}

// SetAttr sets a=name:value, replacing every session-level attribute called name.
func (s *Session) SetAttr(name, value string) {
	s.Attributes = attrSet(s.Attributes, Attribute{Name: name, Value: value, HasValue: true})
}

// SetProperty sets the property attribute a=name, replacing every
// session-level attribute called name.
func (s *Session) SetProperty(name string) {
	s.Attributes = attrSet(s.Attributes, Attribute{Name: name})
}

// AddAttr appends a=name:value to the session-level attributes.
func (s *Session) AddAttr(name, value string) {
	s.Attributes = append(s.Attributes, Attribute{Name: name, Value: value, HasValue: true})
}

// DelAttr removes every session-level attribute called name.
func (s *Session) DelAttr(name string) { s.Attributes = attrDel(s.Attributes, name) }

// Clone returns a deep copy of s.
func (s *Session) Clone() *Session {
	c := *s
	if s.Connection != nil {
		conn := *s.Connection
		c.Connection = &conn
	}
	c.Lines = cloneSlice(s.Lines)
	c.Attributes = cloneSlice(s.Attributes)
	if s.Media != nil {
		c.Media = make([]*Media, len(s.Media))
		for i, m := range s.Media {
			c.Media[i] = m.Clone()
		}
	}
	return &c
}

// cloneSlice copies s, keeping nil as nil.
func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}
