package sdp

import (
	"strconv"
	"strings"
)

// Direction is the media direction attribute of RFC 4566 §6 (a=sendrecv,
// a=sendonly, a=recvonly, a=inactive). For MSRP it applies only to SENDs
// carrying regular message payloads (RFC 4975 §8.9).
type Direction int

// Direction values. The zero value is SendRecv, the default when no
// direction attribute is present.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

// String returns the attribute name: "sendrecv", "sendonly", "recvonly" or "inactive".
func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// direction returns the first direction attribute in list.
func direction(list []Attribute) (Direction, bool) {
	for _, a := range list {
		for d := SendRecv; d <= Inactive; d++ {
			if strings.EqualFold(a.Name, d.String()) {
				return d, true
			}
		}
	}
	return SendRecv, false
}

func setDirection(list []Attribute, d Direction) []Attribute {
	for v := SendRecv; v <= Inactive; v++ {
		list = attrDel(list, v.String())
	}
	return append(list, Attribute{Name: d.String()})
}

// Direction returns the first media-level direction attribute, SendRecv if
// there is none. Use Session.DirectionOf to fall back to the session level.
func (m *Media) Direction() Direction {
	d, _ := direction(m.Attributes)
	return d
}

// SetDirection replaces any direction attribute by a=<d>.
func (m *Media) SetDirection(d Direction) { m.Attributes = setDirection(m.Attributes, d) }

// Direction returns the first session-level direction attribute, SendRecv
// if there is none.
func (s *Session) Direction() Direction {
	d, _ := direction(s.Attributes)
	return d
}

// SetDirection replaces any session-level direction attribute by a=<d>.
func (s *Session) SetDirection(d Direction) { s.Attributes = setDirection(s.Attributes, d) }

// DirectionOf returns the direction that applies to m: its own attribute,
// else the session-level one, else SendRecv (RFC 4566 §6).
func (s *Session) DirectionOf(m *Media) Direction {
	if d, ok := direction(m.Attributes); ok {
		return d
	}
	return s.Direction()
}
