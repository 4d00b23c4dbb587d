package cpim

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func mustParse(t *testing.T, s string) *Message {
	t.Helper()
	m, err := Parse([]byte(crlf(s)))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestFrom(t *testing.T) {
	tests := []struct {
		headers string
		want    Address
		is      error
	}{
		{"From: Alice <sip:a@h>\n", Address{"Alice", "sip:a@h"}, nil},
		{"To: <sip:r@h>\n", Address{}, ErrMissingHeader},
		{"from: <sip:a@h>\n", Address{}, ErrMissingHeader}, // names are case-sensitive
		{"From: <sip:a@h>\nFrom: <sip:b@h>\n", Address{}, ErrRepeatedHeader},
		{"From: sip:a@h\n", Address{}, ErrInvalidAddress},
	}
	for _, tt := range tests {
		m := mustParse(t, tt.headers+"\nContent-Type: t/p\n\n")
		got, err := m.From()
		if tt.is != nil {
			var he *HeaderError
			if !errors.Is(err, tt.is) || !errors.As(err, &he) || he.Name != "From" {
				t.Errorf("%q: From() err = %v, want %v in a From HeaderError", tt.headers, err, tt.is)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: From() = %+v, %v", tt.headers, got, err)
		}
	}
}

func TestToCc(t *testing.T) {
	m := mustParse(t, "To: A <sip:a@h>\ncc: <sip:c@h>\nTo: <sip:b@h>\nCc: <sip:x@h>\ncc: \"C 2\" <sip:c2@h>\n\nContent-Type: t/p\n\n")
	to, err := m.To()
	if want := []Address{{"A", "sip:a@h"}, {"", "sip:b@h"}}; err != nil || !slices.Equal(to, want) {
		t.Errorf("To() = %+v, %v", to, err)
	}
	cc, err := m.Cc()
	if want := []Address{{"", "sip:c@h"}, {"C 2", "sip:c2@h"}}; err != nil || !slices.Equal(cc, want) {
		t.Errorf("Cc() = %+v, %v", cc, err)
	}

	m = mustParse(t, "From: <sip:a@h>\n\nContent-Type: t/p\n\n")
	if to, err := m.To(); !errors.Is(err, ErrMissingHeader) || len(to) != 0 {
		t.Errorf("To() without To = %+v, %v", to, err)
	}
	if cc, err := m.Cc(); err != nil || cc != nil {
		t.Errorf("Cc() without cc = %+v, %v", cc, err)
	}

	m = mustParse(t, "To: <sip:a@h>\nTo: broken\n\nContent-Type: t/p\n\n")
	if _, err := m.To(); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("To() with a bad value: %v", err)
	}
	m = mustParse(t, "cc: <>\n\nContent-Type: t/p\n\n")
	if _, err := m.Cc(); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("Cc() with a bad value: %v", err)
	}
}

func TestDateTime(t *testing.T) {
	tests := []struct {
		value string
		want  time.Time
		ok    bool
	}{
		{"2009-03-02T15:02:31-03:00", time.Date(2009, 3, 2, 18, 2, 31, 0, time.UTC), true},
		{"2014-07-28T12:00:00Z", time.Date(2014, 7, 28, 12, 0, 0, 0, time.UTC), true},
		{"2014-07-28t12:00:00.250z", time.Date(2014, 7, 28, 12, 0, 0, 250e6, time.UTC), true},
		{"2014-07-28 12:00:00Z", time.Time{}, false},
		{"yesterday", time.Time{}, false},
	}
	for _, tt := range tests {
		m := mustParse(t, "DateTime: "+tt.value+"\n\nContent-Type: t/p\n\n")
		got, err := m.DateTime()
		if tt.ok != (err == nil) || !got.Equal(tt.want) {
			t.Errorf("DateTime(%q) = %v, %v", tt.value, got, err)
		}
		if !tt.ok && !errors.Is(err, ErrInvalidValue) {
			t.Errorf("DateTime(%q) err = %v, want ErrInvalidValue", tt.value, err)
		}
	}
	m := mustParse(t, "From: <sip:a@h>\n\nContent-Type: t/p\n\n")
	if _, err := m.DateTime(); !errors.Is(err, ErrMissingHeader) {
		t.Errorf("missing DateTime: %v", err)
	}
}

func TestGetValuesSubjectsRequire(t *testing.T) {
	m := mustParse(t, `Subject: Caf\u00e9 \\o/
Subject:;lang=fr Bonjour
X: one
X: two\ttab
Require: MyFeatures.VitalMessageOption , Other.Opt
Require: Third
Required: ignored

Content-Type: t/p

`)
	if got := m.Get("X"); got != "one" {
		t.Errorf("Get(X) = %q", got)
	}
	if got := m.Get("x"); got != "" {
		t.Errorf("Get(x) = %q, want \"\" (case-sensitive)", got)
	}
	if got := m.Values("X"); !slices.Equal(got, []string{"one", "two\ttab"}) {
		t.Errorf("Values(X) = %q", got)
	}
	if got := m.Values("Nope"); got != nil {
		t.Errorf("Values(Nope) = %q", got)
	}
	wantSubj := []Subject{{Value: `Café \o/`}, {Value: "Bonjour", Lang: "fr"}}
	if got := m.Subjects(); !slices.Equal(got, wantSubj) {
		t.Errorf("Subjects = %+v", got)
	}
	if got := m.Require(); !slices.Equal(got, []string{"MyFeatures.VitalMessageOption", "Other.Opt", "Third"}) {
		t.Errorf("Require = %q", got)
	}
}

func TestNS(t *testing.T) {
	m := mustParse(t, "NS: MyFeatures <mid:MessageFeatures@id.foo.com>\nNS: <urn:default>\nNS: agp<urn:ag-projects:xml:ns:cpim>\n\nContent-Type: t/p\n\n")
	want := []Namespace{
		{"MyFeatures", "mid:MessageFeatures@id.foo.com"},
		{"", "urn:default"},
		{"agp", "urn:ag-projects:xml:ns:cpim"},
	}
	if got, err := m.NS(); err != nil || !slices.Equal(got, want) {
		t.Errorf("NS = %+v, %v", got, err)
	}
	for _, bad := range []string{"MyFeatures mid:x", "My Features <mid:x>", "p <>", "p <a b>", "p <x> y"} {
		m := mustParse(t, "NS: "+bad+"\n\nContent-Type: t/p\n\n")
		if _, err := m.NS(); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("NS(%q) err = %v", bad, err)
		}
	}
}

func TestMIMEHeader(t *testing.T) {
	m := mustParse(t, "From: <sip:a@h>\n\ncontent-TYPE:   text/html ; charset=utf-8\t\nContent-Disposition: inline\n\n")
	if got := m.ContentType(); got != "text/html ; charset=utf-8" {
		t.Errorf("ContentType = %q", got)
	}
	if got := m.MIMEHeader("CONTENT-DISPOSITION"); got != "inline" {
		t.Errorf("Content-Disposition = %q", got)
	}
	if got := m.MIMEHeader("Content-ID"); got != "" {
		t.Errorf("Content-ID = %q", got)
	}
	if got := m.Get("Content-Disposition"); got != "" {
		t.Errorf("Get reads MIME headers: %q", got)
	}
}
