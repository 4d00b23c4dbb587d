package sdp

import "strings"

// Parse parses a session description. Lines end in CRLF or a bare LF; lines
// holding only spaces, tabs and CRs are skipped. Every line must be
// "<letter>=<value>" with no NUL or CR inside. The first line must be v=0;
// o= (six fields) and s= must appear once each before the first m= line;
// t= is optional (the RFC 7701 examples omit it). c= lines must have three
// fields. An m= line needs a media, a port (0–65535, with an optional
// "/count"), a proto and at least one format; any media and proto token is
// accepted. Unknown line types and attributes are kept in order.
//
// An empty or all-whitespace body returns ErrEmpty; other failures return a
// *SyntaxError.
func Parse(b []byte) (*Session, error) {
	if isBlank(b) {
		return nil, ErrEmpty
	}
	text := string(b) // one copy; every string in the Session is a substring of it
	s := &Session{}
	var (
		cur                 *Media // nil while in the session section
		seenV, seenO, seenS bool
		lineNo              int
	)
	for len(text) > 0 {
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		lineNo++
		line = strings.TrimSuffix(line, "\r")
		if isBlank(line) {
			continue
		}
		synErr := func(reason string) error {
			return &SyntaxError{Line: lineNo, Text: line, Reason: reason}
		}
		if len(line) < 2 || !isLetter(line[0]) || line[1] != '=' {
			return nil, synErr("expected <letter>=<value>")
		}
		if strings.ContainsAny(line, "\r\x00") {
			return nil, synErr("control character in line")
		}
		typ, val := line[0], line[2:]
		if !seenV {
			if typ != 'v' || val != "0" {
				return nil, synErr("first line must be v=0")
			}
			seenV = true
			continue
		}
		switch typ {
		case 'v':
			return nil, synErr("repeated v= line")
		case 'o', 's':
			if cur != nil {
				return nil, synErr(string(typ) + "= line in a media section")
			}
			if typ == 'o' {
				if seenO {
					return nil, synErr("repeated o= line")
				}
				var buf [6]string
				f := appendFields(buf[:0], val)
				if len(f) != 6 {
					return nil, synErr("o= line must have 6 fields")
				}
				s.Origin = Origin{f[0], f[1], f[2], f[3], f[4], f[5]}
				seenO = true
			} else {
				if seenS {
					return nil, synErr("repeated s= line")
				}
				s.Name = val
				seenS = true
			}
		case 'c':
			var buf [3]string
			f := appendFields(buf[:0], val)
			if len(f) != 3 {
				return nil, synErr("c= line must have 3 fields")
			}
			conn := &Connection{NetType: f[0], AddrType: f[1], Address: f[2]}
			switch {
			case cur == nil && s.Connection == nil:
				s.Connection = conn
			case cur == nil:
				s.Lines = append(s.Lines, Line{Type: typ, Value: val})
			case cur.Connection == nil:
				cur.Connection = conn
			default:
				cur.Lines = append(cur.Lines, Line{Type: typ, Value: val})
			}
		case 'm':
			if cur == nil {
				if err := checkSessionHeader(seenO, seenS); err != nil {
					return nil, err
				}
			}
			m, reason := parseMediaLine(val)
			if reason != "" {
				return nil, synErr(reason)
			}
			s.Media = append(s.Media, m)
			cur = m
		case 'a':
			if cur == nil {
				s.Attributes = append(s.Attributes, parseAttribute(val))
			} else {
				cur.Attributes = append(cur.Attributes, parseAttribute(val))
			}
		default:
			if cur == nil {
				s.Lines = append(s.Lines, Line{Type: typ, Value: val})
			} else {
				cur.Lines = append(cur.Lines, Line{Type: typ, Value: val})
			}
		}
	}
	if cur == nil {
		if err := checkSessionHeader(seenO, seenS); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func checkSessionHeader(seenO, seenS bool) error {
	switch {
	case !seenO:
		return &SyntaxError{Reason: "missing o= line"}
	case !seenS:
		return &SyntaxError{Reason: "missing s= line"}
	}
	return nil
}

// parseMediaLine parses the value of an m= line. It returns a reason when
// the line cannot be split into media, port, proto and formats.
func parseMediaLine(v string) (*Media, string) {
	f := fields(v)
	if len(f) < 4 {
		return nil, "m= line must have media, port, proto and at least one format"
	}
	portText, countText, hasCount := strings.Cut(f[1], "/")
	port, ok := parseUint16(portText)
	if !ok {
		return nil, "m= port must be a number from 0 to 65535"
	}
	m := &Media{Type: f[0], Port: port, Proto: f[2], Formats: f[3:]}
	if hasCount {
		n, ok := parseUint16(countText)
		if !ok || n == 0 {
			return nil, "m= port count must be a number from 1 to 65535"
		}
		m.NumPorts = n
	}
	return m, ""
}

// parseUint16 parses 1 to 5 decimal digits with a value up to 65535.
func parseUint16(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= 65535
}

// fields splits s at runs of spaces and tabs.
func fields(s string) []string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) && (i == 0 || isSpace(s[i-1])) {
			n++
		}
	}
	return appendFields(make([]string, 0, n), s)
}

// appendFields appends the fields of s, split at runs of spaces and tabs, to out.
func appendFields(out []string, s string) []string {
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if j > i {
			out = append(out, s[i:j])
		}
		i = j
	}
	return out
}

func isSpace(c byte) bool  { return c == ' ' || c == '\t' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isBlank reports whether b holds only spaces, tabs, CRs and LFs.
func isBlank[T string | []byte](b T) bool {
	for i := 0; i < len(b); i++ {
		if c := b[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
