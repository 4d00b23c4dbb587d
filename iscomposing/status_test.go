package iscomposing

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// The documents of RFC 3994 (the shape of its examples) parse to what they
// say, and survive Marshal → Parse.
func TestGolden(t *testing.T) {
	cases := []struct {
		file string
		want Status
	}{
		{"rfc3994-active.xml", Status{State: Active, ContentType: "text/plain", Refresh: 90 * time.Second}},
		{"rfc3994-idle.xml", Status{State: Idle, ContentType: "audio", LastActive: time.Date(2003, 1, 27, 10, 43, 0, 0, time.UTC)}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			doc, err := os.ReadFile("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(doc)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !same(got, c.want) {
				t.Fatalf("Parse = %+v, want %+v", got, c.want)
			}
			out, err := got.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			again, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(Marshal): %v\n%s", err, out)
			}
			if !same(again, got) {
				t.Fatalf("round trip = %+v, want %+v\n%s", again, got, out)
			}
		})
	}
}

func same(a, b Status) bool {
	return a.State == b.State && a.LastActive.Equal(b.LastActive) && a.ContentType == b.ContentType && a.Refresh == b.Refresh
}

func TestMarshal(t *testing.T) {
	out, err := Status{State: Active, ContentType: "text/plain", Refresh: 60 * time.Second}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">
  <state>active</state>
  <contenttype>text/plain</contenttype>
  <refresh>60</refresh>
</isComposing>
`
	if string(out) != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", out, want)
	}
	// Refresh goes only with active, rounded up to whole seconds.
	out, _ = Status{State: Idle, Refresh: time.Minute}.Marshal()
	if strings.Contains(string(out), "refresh") {
		t.Fatalf("idle with refresh:\n%s", out)
	}
	out, _ = Status{State: Active, Refresh: 1500 * time.Millisecond}.Marshal()
	if !strings.Contains(string(out), "<refresh>2</refresh>") {
		t.Fatalf("refresh not rounded up:\n%s", out)
	}
	for _, bad := range []Status{{}, {State: "typing"}, {State: Active, ContentType: "text/<b>"}, {State: Idle, ContentType: "a b"}} {
		if _, err := bad.Marshal(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Marshal(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestParseLenient(t *testing.T) {
	const ns = `xmlns="urn:ietf:params:xml:ns:im-iscomposing"`
	cases := map[string]Status{
		// RFC 3994 §4: a state other than active is idle.
		`<isComposing ` + ns + `><state>recording</state></isComposing>`: {State: Idle},
		`<isComposing ` + ns + `><state> active </state></isComposing>`:  {State: Active},
		// Unknown elements, in any namespace, are skipped.
		`<isComposing ` + ns + `><state>active</state><mood>happy</mood><x:y xmlns:x="urn:x"><z/></x:y></isComposing>`: {State: Active},
		// A prefixed root in the right namespace.
		`<c:isComposing xmlns:c="urn:ietf:params:xml:ns:im-iscomposing"><c:state>active</c:state><c:refresh>30</c:refresh></c:isComposing>`: {State: Active, Refresh: 30 * time.Second},
	}
	for doc, want := range cases {
		got, err := Parse([]byte(doc))
		if err != nil {
			t.Errorf("Parse(%s): %v", doc, err)
			continue
		}
		if !same(got, want) {
			t.Errorf("Parse(%s) = %+v, want %+v", doc, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const ns = `xmlns="urn:ietf:params:xml:ns:im-iscomposing"`
	notStatus := []string{
		``,
		`hello`,
		`<isComposing><state>active</state></isComposing>`,                                     // no namespace
		`<composing ` + ns + `><state>active</state></composing>`,                              // another root
		`<isComposing ` + ns + `><state>active</state></isComposing><isComposing ` + ns + `/>`, // two roots
		`<!DOCTYPE x [<!ENTITY a "b">]><isComposing ` + ns + `><state>active</state></isComposing>`,
		`<isComposing ` + ns + `><state>active</state>`, // unterminated
		`<isComposing ` + ns + `><state>active</state></isComposing>trailing`,
		`<isComposing ` + ns + `>` + strings.Repeat(" ", MaxSize) + `<state>active</state></isComposing>`,
	}
	for _, doc := range notStatus {
		if _, err := Parse([]byte(doc)); !errors.Is(err, ErrNotStatus) {
			t.Errorf("Parse(%.60q) = %v, want ErrNotStatus", doc, err)
		}
	}
	invalid := []string{
		`<isComposing ` + ns + `></isComposing>`,                                             // no state
		`<isComposing ` + ns + `><state>active</state><state>idle</state></isComposing>`,     // two
		`<isComposing ` + ns + `><state>active</state><refresh>0</refresh></isComposing>`,    // not positive
		`<isComposing ` + ns + `><state>active</state><refresh>-5</refresh></isComposing>`,   // negative
		`<isComposing ` + ns + `><state>active</state><refresh>soon</refresh></isComposing>`, // not a number
		`<isComposing ` + ns + `><state>idle</state><lastactive>yesterday</lastactive></isComposing>`,
		`<isComposing ` + ns + `><state>idle</state><contenttype>a b</contenttype></isComposing>`,
		`<isComposing ` + ns + `><state><b>active</b></state></isComposing>`, // element in text
	}
	for _, doc := range invalid {
		if _, err := Parse([]byte(doc)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%.70q) = %v, want ErrInvalid", doc, err)
		}
	}
}

func TestExpires(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	if got := (Status{State: Active}).Expires(now); !got.Equal(now.Add(DefaultActiveTimeout)) {
		t.Errorf("active without refresh expires %v", got)
	}
	if got := (Status{State: Active, Refresh: 90 * time.Second}).Expires(now); !got.Equal(now.Add(90 * time.Second)) {
		t.Errorf("active with refresh 90 expires %v", got)
	}
	if got := (Status{State: Idle, Refresh: 90 * time.Second}).Expires(now); !got.Equal(now) {
		t.Errorf("idle expires %v", got)
	}
}
