package cpim

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func overParts(s string) bool {
	return strings.Count(s, ";") >= maxParts || strings.Count(s, "&") >= maxParts
}

func addGoldenSeeds(f *testing.F) {
	for _, g := range goldens {
		f.Add(readGolden(f, g.file))
	}
}

// FuzzParse: Parse never panics; IsComplete agrees with it; a message that
// parses is re-emitted by AppendTo in a form that parses to the same From,
// To, cc, Content-Type, headers and body.
func FuzzParse(f *testing.F) {
	addGoldenSeeds(f)
	f.Add([]byte("From: <sip:a@h>\nContent-Type: t/p\n\nx"))
	f.Add([]byte("Subject:;lang=fr Bonjour\r\nX:\r\n\r\nContent-Type:\ttext/plain\r\n\r\n"))
	f.Add([]byte("From: \"a\\u00e9\\\"\" <sip:a@h>\r\n\r\nContent-Type: t/p\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		m, err := Parse(b)
		off, complete := IsComplete(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("Parse modified its input")
		}
		if err != nil {
			if m != nil {
				t.Fatal("message returned with an error")
			}
			if errors.Is(err, ErrIncomplete) && complete {
				t.Fatal("ErrIncomplete although IsComplete is true")
			}
			return
		}
		if !complete || off != m.ContentOffset || !bytes.Equal(m.Body, b[off:]) {
			t.Fatalf("IsComplete = %d, %v; ContentOffset = %d", off, complete, m.ContentOffset)
		}
		// The header blocks end exactly at ContentOffset: one byte less is
		// a partial first chunk.
		if o, ok := IsComplete(b[:off]); !ok || o != off {
			t.Fatalf("IsComplete(b[:%d]) = %d, %v", off, o, ok)
		}
		if _, ok := IsComplete(b[:off-1]); ok {
			t.Fatalf("IsComplete(b[:%d]) = true", off-1)
		}
		if _, err := Parse(b[:off-1]); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("Parse(b[:%d]) = %v, want ErrIncomplete", off-1, err)
		}
		_ = m.Validate()
		out := m.AppendTo(nil)
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-Parse of %q: %v", out, err)
		}
		if m2.CompactLayout {
			t.Fatal("AppendTo emitted the compact layout")
		}
		if !slices.Equal(m.Headers, m2.Headers) || !slices.Equal(m.MIMEHeaders, m2.MIMEHeaders) {
			t.Fatalf("headers differ:\n%q\n%q", m.Headers, m2.Headers)
		}
		if !bytes.Equal(m.Body, m2.Body) || m.ContentType() != m2.ContentType() {
			t.Fatal("body or Content-Type differ")
		}
		from1, err1 := m.From()
		from2, err2 := m2.From()
		if from1 != from2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("From: %+v, %v vs %+v, %v", from1, err1, from2, err2)
		}
		to1, err1 := m.To()
		to2, err2 := m2.To()
		if !slices.Equal(to1, to2) || (err1 == nil) != (err2 == nil) {
			t.Fatalf("To: %+v, %v vs %+v, %v", to1, err1, to2, err2)
		}
		cc1, _ := m.Cc()
		cc2, _ := m2.Cc()
		if !slices.Equal(cc1, cc2) {
			t.Fatalf("cc: %+v vs %+v", cc1, cc2)
		}
		if again := m2.AppendTo(nil); !bytes.Equal(out, again) {
			t.Fatalf("AppendTo is not stable:\n%q\n%q", out, again)
		}
	})
}

// FuzzAddress: a parsed address formats to text that parses back to it.
func FuzzAddress(f *testing.F) {
	for _, s := range []string{
		"<sip:a@h>", "Alice <sip:a@h>", `"Alice Kay" <sip:a@h>`, `"\u00e9\"\\" <im:x@y>`,
		"Alice  (mobile)<sip:a@h>", `"\uD83D\uDE00" <sip:a@h>`, `"" <sip:a@h>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		out := a.String()
		b, err := ParseAddress(out)
		if err != nil || b != a {
			t.Fatalf("ParseAddress(%q) = %+v; String %q parses to %+v, %v", s, a, out, b, err)
		}
		if out2 := b.String(); out2 != out {
			t.Fatalf("String not stable: %q vs %q", out, out2)
		}
	})
}

// FuzzURIEqual: URIEqual is reflexive and symmetric, and equal URIs have
// equal URIKeys.
func FuzzURIEqual(f *testing.F) {
	for _, tt := range uriEqualTests {
		f.Add(tt.a, tt.b)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		// uriEqual skips URIEqual's a == b shortcut, so reflexivity is
		// tested on the real comparison; beyond maxParts it is false by
		// design.
		for _, s := range []string{a, b} {
			if !uriEqual(s, s) && !overParts(s) {
				t.Fatalf("not reflexive: %q", s)
			}
		}
		if ab, ba := uriEqual(a, b), uriEqual(b, a); ab != ba {
			t.Fatalf("not symmetric: uriEqual(%q, %q) = %v, reverse %v", a, b, ab, ba)
		}
		ab, ba := URIEqual(a, b), URIEqual(b, a)
		if ab != ba {
			t.Fatalf("not symmetric: URIEqual(%q, %q) = %v, reverse %v", a, b, ab, ba)
		}
		if ab && URIKey(a) != URIKey(b) {
			t.Fatalf("equal URIs %q, %q have keys %q, %q", a, b, URIKey(a), URIKey(b))
		}
	})
}
