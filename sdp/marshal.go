package sdp

import (
	"strconv"
	"strings"
)

// Marshal formats the session description with CRLF line endings.
func (s *Session) Marshal() []byte { return s.AppendTo(make([]byte, 0, s.sizeHint())) }

// String returns the marshalled session description.
func (s *Session) String() string { return string(s.Marshal()) }

// AppendTo appends the marshalled session description to dst: v=, o=, s=,
// then the session Lines with c= inserted at its RFC 4566 place (before the
// first line that is not i=, u=, e= or p=), the session attributes, and
// each media section (m=, its Lines with c= inserted before the first line
// that is not i=, then its attributes). Nothing is validated: a Session
// built by hand must hold what Parse would accept for the output to parse.
func (s *Session) AppendTo(dst []byte) []byte {
	dst = append(dst, "v="...)
	dst = strconv.AppendInt(dst, int64(s.Version), 10)
	dst = append(dst, "\r\no="...)
	o := &s.Origin
	for i, f := range [...]string{o.Username, o.SessionID, o.SessionVersion, o.NetType, o.AddrType, o.Address} {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, f...)
	}
	dst = append(dst, "\r\ns="...)
	dst = append(dst, s.Name...)
	dst = append(dst, "\r\n"...)
	dst = appendSection(dst, s.Connection, "iuep", s.Lines, s.Attributes)
	for _, m := range s.Media {
		dst = m.AppendTo(dst)
	}
	return dst
}

// AppendTo appends the media section, from its m= line on, to dst.
func (m *Media) AppendTo(dst []byte) []byte {
	dst = append(dst, "m="...)
	dst = append(dst, m.Type...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(m.Port), 10)
	if m.NumPorts != 0 {
		dst = append(dst, '/')
		dst = strconv.AppendInt(dst, int64(m.NumPorts), 10)
	}
	dst = append(dst, ' ')
	dst = append(dst, m.Proto...)
	for _, f := range m.Formats {
		dst = append(dst, ' ')
		dst = append(dst, f...)
	}
	dst = append(dst, "\r\n"...)
	return appendSection(dst, m.Connection, "i", m.Lines, m.Attributes)
}

// appendSection writes lines with conn inserted before the first line whose
// type is not in before, then attrs.
func appendSection(dst []byte, conn *Connection, before string, lines []Line, attrs []Attribute) []byte {
	for _, l := range lines {
		if conn != nil && strings.IndexByte(before, l.Type) < 0 {
			dst = appendConnection(dst, conn)
			conn = nil
		}
		dst = append(dst, l.Type, '=')
		dst = append(dst, l.Value...)
		dst = append(dst, "\r\n"...)
	}
	if conn != nil {
		dst = appendConnection(dst, conn)
	}
	for _, a := range attrs {
		dst = append(dst, "a="...)
		dst = append(dst, a.Name...)
		if a.HasValue {
			dst = append(dst, ':')
			dst = append(dst, a.Value...)
		}
		dst = append(dst, "\r\n"...)
	}
	return dst
}

func appendConnection(dst []byte, c *Connection) []byte {
	dst = append(dst, "c="...)
	dst = append(dst, c.NetType...)
	dst = append(dst, ' ')
	dst = append(dst, c.AddrType...)
	dst = append(dst, ' ')
	dst = append(dst, c.Address...)
	return append(dst, "\r\n"...)
}

// sizeHint estimates the marshalled size, to allocate once.
func (s *Session) sizeHint() int {
	n := 64 + len(s.Name) + len(s.Origin.Username) + len(s.Origin.Address)
	n += sectionSize(s.Connection, s.Lines, s.Attributes)
	for _, m := range s.Media {
		n += 24 + len(m.Type) + len(m.Proto)
		for _, f := range m.Formats {
			n += 1 + len(f)
		}
		n += sectionSize(m.Connection, m.Lines, m.Attributes)
	}
	return n
}

func sectionSize(c *Connection, lines []Line, attrs []Attribute) int {
	n := 0
	if c != nil {
		n += 6 + len(c.NetType) + len(c.AddrType) + len(c.Address)
	}
	for _, l := range lines {
		n += 4 + len(l.Value)
	}
	for _, a := range attrs {
		n += 5 + len(a.Name) + len(a.Value)
	}
	return n
}
