package sdp

import (
	"reflect"
	"testing"
)

func TestParseAttribute(t *testing.T) {
	for in, want := range map[string]Attribute{
		"sendrecv":            {Name: "sendrecv"},
		"path:msrp://h:1;tcp": {Name: "path", Value: "msrp://h:1;tcp", HasValue: true},
		"chatroom:":           {Name: "chatroom", HasValue: true},
		"":                    {},
		":x":                  {Value: "x", HasValue: true},
		"a:b:c":               {Name: "a", Value: "b:c", HasValue: true},
	} {
		got := parseAttribute(in)
		if got != want {
			t.Errorf("parseAttribute(%q) = %#v, want %#v", in, got, want)
		}
		if got.String() != in {
			t.Errorf("String() = %q, want %q", got.String(), in)
		}
	}
}

// attrs abstracts the accessor set that Session and Media share.
type attrs interface {
	Attr(string) (string, bool)
	Attrs(string) []string
	HasAttr(string) bool
	SetAttr(string, string)
	SetProperty(string)
	AddAttr(string, string)
	DelAttr(string)
}

func TestAttributeAccessors(t *testing.T) {
	s := &Session{}
	m := &Media{}
	for _, tc := range []struct {
		name string
		a    attrs
		list func() []Attribute
	}{
		{"session", s, func() []Attribute { return s.Attributes }},
		{"media", m, func() []Attribute { return m.Attributes }},
	} {
		a := tc.a
		if _, ok := a.Attr("x"); ok || a.HasAttr("x") || a.Attrs("x") != nil {
			t.Errorf("%s: empty list has x", tc.name)
		}
		a.AddAttr("x", "1")
		a.AddAttr("y", "2")
		a.AddAttr("X", "3")
		a.SetProperty("flag")
		a.AddAttr("x", "4")
		if v, ok := a.Attr("x"); !ok || v != "1" {
			t.Errorf("%s: Attr(x) = %q %v", tc.name, v, ok)
		}
		if got := a.Attrs("x"); !reflect.DeepEqual(got, []string{"1", "3", "4"}) {
			t.Errorf("%s: Attrs(x) = %q", tc.name, got)
		}
		if v, ok := a.Attr("FLAG"); !ok || v != "" {
			t.Errorf("%s: Attr(FLAG) = %q %v", tc.name, v, ok)
		}
		a.SetAttr("x", "5") // replaces the first, deletes the others, keeps the order
		want := []Attribute{{"x", "5", true}, {"y", "2", true}, {Name: "flag"}}
		if !reflect.DeepEqual(tc.list(), want) {
			t.Errorf("%s: after SetAttr: %#v", tc.name, tc.list())
		}
		a.SetAttr("z", "6") // appends
		a.SetProperty("y")  // replaces in place
		want = []Attribute{{"x", "5", true}, {Name: "y"}, {Name: "flag"}, {"z", "6", true}}
		if !reflect.DeepEqual(tc.list(), want) {
			t.Errorf("%s: after SetProperty: %#v", tc.name, tc.list())
		}
		a.DelAttr("Y")
		a.DelAttr("missing")
		want = []Attribute{{"x", "5", true}, {Name: "flag"}, {"z", "6", true}}
		if !reflect.DeepEqual(tc.list(), want) {
			t.Errorf("%s: after DelAttr: %#v", tc.name, tc.list())
		}
		a.DelAttr("x")
		a.DelAttr("flag")
		a.DelAttr("z")
		if tc.list() != nil {
			t.Errorf("%s: list not nil after deleting everything: %#v", tc.name, tc.list())
		}
	}
}

// TestAttrSetNoAliasing: SetAttr compacts in place without leaving stale
// entries visible through the returned slice.
func TestAttrSetNoAliasing(t *testing.T) {
	list := []Attribute{{Name: "a"}, {Name: "b"}, {Name: "a"}, {Name: "c"}, {Name: "a"}}
	got := attrSet(list, Attribute{Name: "a", Value: "v", HasValue: true})
	want := []Attribute{{"a", "v", true}, {Name: "b"}, {Name: "c"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("attrSet = %#v", got)
	}
	if list[3] != (Attribute{}) || list[4] != (Attribute{}) {
		t.Errorf("stale entries not cleared: %#v", list)
	}
}
