package sdp

import "strings"

// Media is one media description: an m= line and the lines that follow it
// up to the next m= line.
type Media struct {
	Type     string   // media: "message", "audio", or any other token
	Port     int      // 0–65535; 0 rejects or disables the stream
	NumPorts int      // the "/<count>" after the port; 0 when absent
	Proto    string   // "TCP/MSRP", "TCP/TLS/MSRP", "RTP/AVP", or any other token
	Formats  []string // at least one; "*" for MSRP

	Connection *Connection // media-level c=, nil if absent

	// Lines holds the other lines of the section except a= (i=, b=, k=,
	// unknown types, a repeated c=), in input order.
	Lines []Line
	// Attributes holds the a= lines of the section in input order.
	Attributes []Attribute
}

// Attr returns the value of the first attribute called name (compared
// case-insensitively) and whether there is one. A property attribute
// ("a=sendrecv") has the value "".
func (m *Media) Attr(name string) (string, bool) { return attrGet(m.Attributes, name) }

// Attrs returns the values of every attribute called name, in order.
func (m *Media) Attrs(name string) []string { return attrGetAll(m.Attributes, name) }

// HasAttr reports whether an attribute called name exists.
func (m *Media) HasAttr(name string) bool {
	_, ok := m.Attr(name)
	return ok
}

// SetAttr sets a=name:value, replacing every attribute called name; a new
// attribute is appended.
func (m *Media) SetAttr(name, value string) {
	m.Attributes = attrSet(m.Attributes, Attribute{Name: name, Value: value, HasValue: true})
}

// SetProperty sets the property attribute a=name (no value), replacing
// every attribute called name.
func (m *Media) SetProperty(name string) {
	m.Attributes = attrSet(m.Attributes, Attribute{Name: name})
}

// AddAttr appends a=name:value.
func (m *Media) AddAttr(name, value string) {
	m.Attributes = append(m.Attributes, Attribute{Name: name, Value: value, HasValue: true})
}

// DelAttr removes every attribute called name.
func (m *Media) DelAttr(name string) { m.Attributes = attrDel(m.Attributes, name) }

// Clone returns a deep copy of m (nil for nil).
func (m *Media) Clone() *Media {
	if m == nil {
		return nil
	}
	c := *m
	c.Formats = cloneSlice(m.Formats)
	if m.Connection != nil {
		conn := *m.Connection
		c.Connection = &conn
	}
	c.Lines = cloneSlice(m.Lines)
	c.Attributes = cloneSlice(m.Attributes)
	return &c
}

// IsMSRP reports whether m is an MSRP stream: media "message" and proto
// TCP/MSRP or TCP/TLS/MSRP, compared case-insensitively (RFC 4975 §8,
// RFC 7701 §5.2). The port is not considered.
func (m *Media) IsMSRP() bool {
	return strings.EqualFold(m.Type, "message") &&
		(strings.EqualFold(m.Proto, protoMSRP) || strings.EqualFold(m.Proto, protoMSRPS))
}

// IsSecureMSRP reports whether m is an MSRP stream over TLS (TCP/TLS/MSRP).
func (m *Media) IsSecureMSRP() bool {
	return strings.EqualFold(m.Type, "message") && strings.EqualFold(m.Proto, protoMSRPS)
}

const (
	protoMSRP  = "TCP/MSRP"
	protoMSRPS = "TCP/TLS/MSRP"
)
