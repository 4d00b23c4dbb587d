package sdp

import "strings"

// Attribute is one a= line: a property attribute "a=name" (HasValue false)
// or a value attribute "a=name:value" (HasValue true; Value may be empty).
// Name is everything before the first colon, Value everything after it,
// both exactly as written.
type Attribute struct {
	Name     string
	Value    string
	HasValue bool
}

// String formats the attribute as it appears after "a=".
func (a Attribute) String() string {
	if !a.HasValue {
		return a.Name
	}
	return a.Name + ":" + a.Value
}

// parseAttribute splits the value of an a= line.
func parseAttribute(v string) Attribute {
	name, value, ok := strings.Cut(v, ":")
	return Attribute{Name: name, Value: value, HasValue: ok}
}

// The helpers below implement the attribute accessors shared by Session and
// Media. Names are compared case-insensitively, so "a=Path:" is found by
// "path"; the spelling on the wire is kept.

func attrGet(list []Attribute, name string) (string, bool) {
	for _, a := range list {
		if strings.EqualFold(a.Name, name) {
			return a.Value, true
		}
	}
	return "", false
}

func attrGetAll(list []Attribute, name string) []string {
	var vals []string
	for _, a := range list {
		if strings.EqualFold(a.Name, name) {
			vals = append(vals, a.Value)
		}
	}
	return vals
}

func attrCount(list []Attribute, name string) int {
	n := 0
	for _, a := range list {
		if strings.EqualFold(a.Name, name) {
			n++
		}
	}
	return n
}

// attrSet replaces the first attribute called name by a and deletes the
// others; it appends a when there is none.
func attrSet(list []Attribute, a Attribute) []Attribute {
	for i := range list {
		if strings.EqualFold(list[i].Name, a.Name) {
			list[i] = a
			rest := attrDel(list[i+1:], a.Name)
			return list[:i+1+len(rest)]
		}
	}
	return append(list, a)
}

// attrDel removes, in place, every attribute called name.
func attrDel(list []Attribute, name string) []Attribute {
	out := list[:0]
	for _, a := range list {
		if !strings.EqualFold(a.Name, name) {
			out = append(out, a)
		}
	}
	clear(list[len(out):])
	if len(out) == 0 {
		return nil
	}
	return out
}
