package sdp

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseFormatList(t *testing.T) {
	tests := []struct {
		in   string
		want FormatList
		str  string // String() of the result; "" = in
	}{
		{in: "text/plain", want: FormatList{{Type: "text", Subtype: "plain"}}},
		{in: "*", want: FormatList{{Type: "*"}}},
		{in: "message/cpim text/plain text/html", want: FormatList{
			{Type: "message", Subtype: "cpim"}, {Type: "text", Subtype: "plain"}, {Type: "text", Subtype: "html"},
		}},
		{in: "text/plain text/html *", want: FormatList{
			{Type: "text", Subtype: "plain"}, {Type: "text", Subtype: "html"}, {Type: "*"},
		}},
		{in: "Message/CPIM", want: FormatList{{Type: "Message", Subtype: "CPIM"}}},
		{in: "text/*", want: FormatList{{Type: "text", Subtype: "*"}}},
		{in: "*/*", want: FormatList{{Type: "*", Subtype: "*"}}},
		{in: "application/im-iscomposing+xml", want: FormatList{{Type: "application", Subtype: "im-iscomposing+xml"}}},
		{in: "text/plain;charset=utf-8", want: FormatList{
			{Type: "text", Subtype: "plain", Params: []Param{{"charset", "utf-8"}}},
		}},
		{in: `text/plain;charset="utf 8";x=y image/*;q="a \"b\" \\c"`, want: FormatList{
			{Type: "text", Subtype: "plain", Params: []Param{{"charset", `"utf 8"`}, {"x", "y"}}},
			{Type: "image", Subtype: "*", Params: []Param{{"q", `"a \"b\" \\c"`}}},
		}},
		{in: `a/b;p=""`, want: FormatList{{Type: "a", Subtype: "b", Params: []Param{{"p", `""`}}}}},
		{in: "  text/plain \t  text/html  ", want: FormatList{
			{Type: "text", Subtype: "plain"}, {Type: "text", Subtype: "html"},
		}, str: "text/plain text/html"},
	}
	for _, tt := range tests {
		got, err := ParseFormatList(tt.in)
		if err != nil {
			t.Errorf("ParseFormatList(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFormatList(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		str := tt.str
		if str == "" {
			str = tt.in
		}
		if got.String() != str {
			t.Errorf("String() = %q, want %q", got.String(), str)
		}
	}
}

func TestParseFormatListErrors(t *testing.T) {
	for _, in := range []string{
		"", "   ",
		"text", "text/", "/plain", "text/plain/x",
		"text/plain,text/html", "text/plain; charset=utf-8",
		"text/plain;", "text/plain;charset", "text/plain;charset=", "text/plain;=x",
		`text/plain;charset="utf-8`, `text/plain;charset="a\x"`, "text/plain;charset=\"a\x01\"",
		`text/plain;charset="a"b`, "*;q=1", "**", "*x", "text/pl@in", "te(x)t/plain",
		"text/plain\x00", "tëxt/plain",
	} {
		l, err := ParseFormatList(in)
		if !errors.Is(err, ErrInvalidFormatList) {
			t.Errorf("ParseFormatList(%q) = %v, %v; want ErrInvalidFormatList", in, l, err)
		}
	}
}

func TestFormatListAccepts(t *testing.T) {
	tests := []struct {
		list     string
		typ      string
		accepts  bool
		contains bool
	}{
		{"message/cpim", "message/cpim", true, true},
		{"message/cpim", "Message/CPIM", true, true},
		{"Message/CPIM", "message/cpim", true, true},
		{"message/cpim", "message/cpim; charset=utf-8", true, true},
		{"text/plain;charset=utf-8", "text/plain", true, true},
		{"text/plain;charset=utf-8", "TEXT/PLAIN;charset=iso-8859-1", true, true},
		{"message/cpim", "text/plain", false, false},
		{"text/plain", "text/html", false, false},
		{"text/*", "text/html", true, false},
		{"text/*", "Text/Whatever;x=1", true, false},
		{"text/*", "image/png", false, false},
		{"*", "image/png", true, false},
		{"*", "x-foo/bar", true, false},
		{"*/*", "image/png", true, false},
		{"text/plain *", "text/plain", true, true},
		{"message/cpim text/* image/*", "image/jpeg", true, false},
		{"message/cpim text/* image/*", "application/json", false, false},
		{"*", "", false, false},
		{"*", "garbage", false, false},
		{"*", "a/b/c", false, false},
		{"text/plain", " text/plain ", true, true},
		{"text/plain", "text / plain", true, true},
	}
	for _, tt := range tests {
		l, err := ParseFormatList(tt.list)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Accepts(tt.typ); got != tt.accepts {
			t.Errorf("%q.Accepts(%q) = %v, want %v", tt.list, tt.typ, got, tt.accepts)
		}
		if got := l.Contains(tt.typ); got != tt.contains {
			t.Errorf("%q.Contains(%q) = %v, want %v", tt.list, tt.typ, got, tt.contains)
		}
	}
	var empty FormatList
	if empty.Accepts("text/plain") || empty.Contains("text/plain") || empty.HasWildcard() {
		t.Error("empty list accepts something")
	}
}

func TestFormatListHasWildcard(t *testing.T) {
	for list, want := range map[string]bool{
		"*": true, "text/plain *": true, "*/*": true, "text/*": false, "text/plain": false,
	} {
		l, _ := ParseFormatList(list)
		if got := l.HasWildcard(); got != want {
			t.Errorf("%q.HasWildcard() = %v", list, got)
		}
	}
}

func TestBaseMediaType(t *testing.T) {
	for in, want := range map[string]string{
		"text/plain":                  "text/plain",
		"Text/Plain; charset=utf-8":   "text/plain",
		"Message/CPIM":                "message/cpim",
		"  image/PNG  ":               "image/png",
		"application/x-y+xml;a=b;c=d": "application/x-y+xml",
		"text / plain":                "text/plain",
		"text/*":                      "text/*",
		"":                            "",
		"text":                        "",
		"text/":                       "",
		"/plain":                      "",
		"text/plain/x":                "",
		"te xt/plain":                 "",
		";text/plain":                 "",
	} {
		if got := BaseMediaType(in); got != want {
			t.Errorf("BaseMediaType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatEntryString(t *testing.T) {
	e := FormatEntry{Type: "text", Subtype: "plain", Params: []Param{{"charset", "utf-8"}}}
	if got := e.String(); got != "text/plain;charset=utf-8" {
		t.Errorf("String() = %q", got)
	}
	if got := (FormatEntry{Type: "*"}).String(); got != "*" {
		t.Errorf("String() = %q", got)
	}
}
