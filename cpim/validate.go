package cpim

// repeatable are the message headers that may occur more than once
// (RFC 3862 §3, RFC 4975 §13). Subject is handled apart: it may repeat with
// different language tags.
func repeatable(name string) bool { return name == "NS" || name == "To" || name == "cc" }

// Validate checks the message headers against RFC 3862 and the MSRP profile
// of RFC 4975 §13:
//
//   - no header other than NS, To and cc occurs twice; Subject may repeat
//     when each occurrence has a different lang parameter (as in the
//     RFC 3862 §2.1 example);
//   - exactly one From and at least one To, all From, To and cc values parse;
//   - DateTime, if present, is an RFC 3339 date-time; NS values parse.
//
// Header names are case-sensitive: "Cc" is an unknown extension header, not
// cc. Unknown headers are not checked, including those named in Require;
// deciding whether they are understood is the caller's business. The error is
// a *HeaderError for the first problem found.
func (m *Message) Validate() error {
	if err := m.checkRepeats(); err != nil {
		return err
	}
	if _, err := m.From(); err != nil {
		return err
	}
	if _, err := m.To(); err != nil {
		return err
	}
	if _, err := m.Cc(); err != nil {
		return err
	}
	if m.has("DateTime") {
		if _, err := m.DateTime(); err != nil {
			return err
		}
	}
	_, err := m.NS()
	return err
}

func (m *Message) has(name string) bool {
	for _, h := range m.Headers {
		if h.Name == name {
			return true
		}
	}
	return false
}

// checkRepeats finds the first header that repeats an earlier one. Small
// header blocks (the usual case) are compared pairwise without allocating;
// large ones go through a map so that hostile input stays linear.
func (m *Message) checkRepeats() error {
	hs := m.Headers
	if len(hs) > 32 {
		type key struct{ name, lang string }
		seen := make(map[key]struct{}, len(hs))
		for _, h := range hs {
			if repeatable(h.Name) {
				continue
			}
			k := key{name: h.Name}
			if h.Name == "Subject" {
				k.lang = string(appendLower(nil, h.Lang()))
			}
			if _, dup := seen[k]; dup {
				return headerErr(h.Name, ErrRepeatedHeader)
			}
			seen[k] = struct{}{}
		}
		return nil
	}
	for i, h := range hs {
		if repeatable(h.Name) {
			continue
		}
		for _, prev := range hs[:i] {
			if prev.Name != h.Name {
				continue
			}
			if h.Name == "Subject" && !equalFold(prev.Lang(), h.Lang()) {
				continue
			}
			return headerErr(h.Name, ErrRepeatedHeader)
		}
	}
	return nil
}
