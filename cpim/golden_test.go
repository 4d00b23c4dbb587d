package cpim

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// golden describes what each file under testdata/ must parse to. The files
// hold CPIM bodies exactly as they travel in an MSRP SEND (CRLF line ends,
// no CRLF after the content: that one belongs to the MSRP end-line).
type golden struct {
	file        string
	compact     bool
	from        Address
	to          []Address
	cc          []Address
	dateTime    string
	contentType string
	body        string
}

var goldens = []golden{
	{
		// RFC 7701 §9.3 F1/F3: no blank line before the inner Content-Type.
		file:        "rfc7701-9.3-regular.cpim",
		compact:     true,
		from:        Address{URI: "sip:alice@atlanta.example.com"},
		to:          []Address{{URI: "sip:chatroom22@chat.example.com;transport=tcp"}},
		dateTime:    "2009-03-02T15:02:31-03:00",
		contentType: "text/plain",
		body:        "Hello guys, how are you today?",
	},
	{
		// RFC 7701 §9.4 F1 (private message to Bob's AOR).
		file:        "rfc7701-9.4-private.cpim",
		compact:     true,
		from:        Address{URI: "sip:alice@example.com"},
		to:          []Address{{URI: "sip:bob@example.com"}},
		dateTime:    "2009-03-02T15:02:31-03:00",
		contentType: "text/plain",
		body:        "Hello Bob.",
	},
	{
		// RFC 7701 §9.5, the two chunks reassembled; the first chunk ends
		// after the From line (see TestGoldenChunkedIsComplete).
		file:        "rfc7701-9.5-chunked.cpim",
		compact:     true,
		from:        Address{URI: "sip:alice@example.com"},
		to:          []Address{{URI: "sip:bob@example.com"}},
		dateTime:    "2009-03-02T15:02:31-03:00",
		contentType: "text/plain",
		body:        "Hello Bob",
	},
	{
		// RFC 4975 §11.4, both chunks reassembled. The RFC text has no blank
		// line before Content-Type either: its first chunk, Byte-Range 1-137,
		// is exactly the first 137 bytes of this file.
		file:        "rfc4975-11.4.cpim",
		compact:     true,
		from:        Address{DisplayName: "Alice", URI: "sip:alice@example.com"},
		to:          []Address{{DisplayName: "Bob", URI: "sip:bob@example.com"}},
		dateTime:    "2006-05-15T15:02:31-03:00",
		contentType: "text/plain",
		body:        "ABCD1234567890",
	},
	{
		// RFC 3862 §2.1, with NS, Require, two Subjects and extension headers.
		file:        "rfc3862-2.1.cpim",
		from:        Address{DisplayName: "MR SANDERS", URI: "im:piglet@100akerwood.com"},
		to:          []Address{{DisplayName: "Depressed Donkey", URI: "im:eeyore@100akerwood.com"}},
		dateTime:    "2000-12-13T13:40:00-08:00",
		contentType: "text/xml; charset=utf-8",
		body:        "<body>\r\nHere is the text of my message.\r\n</body>\r\n",
	},
	{
		// draft-niemi-simple-chat-00 §4.3.1 private message to a subset. The
		// draft writes "Cc:", but CPIM header names are case-sensitive and the
		// header is "cc" (RFC 3862 §3.1, §4.3): "Cc" is read as an unknown
		// extension header, so Cc() is empty and Values("Cc") holds it.
		file: "niemi-00-private.cpim",
		from: Address{DisplayName: "Prince of the snow", URI: "im:johnny@example.com.invalid"},
		to: []Address{
			{DisplayName: "Blue Arrow", URI: "im:bluearrow@example.com.invalid"},
			{DisplayName: "Daisy", URI: "im:daisy@example.com.invalid"},
		},
		dateTime:    "2004-01-28T15:43:00-02:00",
		contentType: "text/plain",
		body:        "This is an example of a private instant message",
	},
}

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkGolden asserts the typed values of m against g.
func checkGolden(t *testing.T, m *Message, g golden) {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	from, err := m.From()
	if err != nil || from != g.from {
		t.Errorf("From = %+v, %v; want %+v", from, err, g.from)
	}
	to, err := m.To()
	if err != nil || !slices.Equal(to, g.to) {
		t.Errorf("To = %+v, %v; want %+v", to, err, g.to)
	}
	cc, err := m.Cc()
	if err != nil || !slices.Equal(cc, g.cc) {
		t.Errorf("Cc = %+v, %v; want %+v", cc, err, g.cc)
	}
	dt, err := m.DateTime()
	want, _ := time.Parse(time.RFC3339, g.dateTime)
	if err != nil || !dt.Equal(want) {
		t.Errorf("DateTime = %v, %v; want %v", dt, err, want)
	}
	if got := m.ContentType(); got != g.contentType {
		t.Errorf("ContentType = %q, want %q", got, g.contentType)
	}
	if string(m.Body) != g.body {
		t.Errorf("Body = %q, want %q", m.Body, g.body)
	}
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.file, func(t *testing.T) {
			raw := readGolden(t, g.file)
			if !bytes.Contains(raw, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
				t.Fatal("golden file must use CRLF line endings only")
			}
			m, err := Parse(raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.CompactLayout != g.compact {
				t.Errorf("CompactLayout = %v, want %v", m.CompactLayout, g.compact)
			}
			checkGolden(t, m, g)

			// Zero copy: Body aliases the input, and Raw is the input.
			if &m.Raw[0] != &raw[0] || (len(m.Body) > 0 && &m.Body[0] != &raw[m.ContentOffset]) {
				t.Error("Raw/Body do not alias the input")
			}
			if off, ok := IsComplete(raw); !ok || off != m.ContentOffset {
				t.Errorf("IsComplete = %d, %v; want %d, true", off, ok, m.ContentOffset)
			}

			// Re-emit and re-parse: same values, RFC 3862 layout.
			out := m.Bytes()
			m2, err := Parse(out)
			if err != nil {
				t.Fatalf("re-Parse: %v\n%s", err, out)
			}
			if m2.CompactLayout {
				t.Error("AppendTo emitted the compact layout")
			}
			checkGolden(t, m2, g)
			if !slices.Equal(m2.Headers, m.Headers) || !slices.Equal(m2.MIMEHeaders, m.MIMEHeaders) {
				t.Errorf("headers changed in the round trip:\n%v\n%v", m.Headers, m2.Headers)
			}
			blankThenCT := []byte("\r\n\r\nContent-")
			if !bytes.Contains(out, blankThenCT) {
				t.Errorf("re-emitted message has no blank line before the MIME headers:\n%s", out)
			}
			if g.compact && bytes.Contains(raw, blankThenCT) {
				t.Error("compact golden unexpectedly has the blank line")
			}
			if !g.compact && !bytes.Equal(out, raw) {
				t.Errorf("RFC 3862 layout input not reproduced byte for byte:\n%q\n%q", raw, out)
			}
		})
	}
}

func TestGoldenRFC3862Extras(t *testing.T) {
	m, err := Parse(readGolden(t, "rfc3862-2.1.cpim"))
	if err != nil {
		t.Fatal(err)
	}
	wantSubj := []Subject{
		{Value: "the weather will be fine today"},
		{Value: "beau temps prevu pour aujourd'hui", Lang: "fr"},
	}
	if got := m.Subjects(); !slices.Equal(got, wantSubj) {
		t.Errorf("Subjects = %+v", got)
	}
	ns, err := m.NS()
	if want := []Namespace{{Prefix: "MyFeatures", URI: "mid:MessageFeatures@id.foo.com"}}; err != nil || !slices.Equal(ns, want) {
		t.Errorf("NS = %+v, %v", ns, err)
	}
	if got := m.Require(); !slices.Equal(got, []string{"MyFeatures.VitalMessageOption"}) {
		t.Errorf("Require = %q", got)
	}
	if got := m.Get("MyFeatures.WackyMessageOption"); got != "Use-silly-font" {
		t.Errorf("WackyMessageOption = %q", got)
	}
	// The example writes "Content-type"; MIME names are case-insensitive.
	if got := m.MIMEHeader("content-id"); got != "<1234567890@foo.com>" {
		t.Errorf("Content-ID = %q", got)
	}
}

func TestGoldenNiemiCc(t *testing.T) {
	m, err := Parse(readGolden(t, "niemi-00-private.cpim"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Values("Cc"); !slices.Equal(got, []string{`"Hook" <im:doe@example.com.invalid>`}) {
		t.Errorf(`Values("Cc") = %q`, got)
	}
	if got := m.Values("cc"); got != nil {
		t.Errorf(`Values("cc") = %q, want none`, got)
	}
	if got := m.MIMEHeader("Content-ID"); got != "<092380923@foo.com>" {
		t.Errorf("Content-ID = %q", got)
	}
	// Reading the draft's intent needs an explicit, separate parse.
	hook, err := ParseAddress(m.Get("Cc"))
	if err != nil || hook.DisplayName != "Hook" {
		t.Errorf("ParseAddress(Cc) = %+v, %v", hook, err)
	}
}

// TestGoldenChunked feeds the chunked examples in their RFC chunk boundaries
// and at every other prefix: IsComplete turns true exactly when the MIME
// headers' blank line has arrived, and Parse agrees.
func TestGoldenChunked(t *testing.T) {
	for _, tc := range []struct {
		file   string
		chunk1 int // length of the RFC's first chunk
	}{
		{"rfc7701-9.5-chunked.cpim", len("To: <sip:bob@example.com>\r\nFrom: <sip:alice@example.com>\r\n")},
		{"rfc4975-11.4.cpim", 137},
	} {
		raw := readGolden(t, tc.file)
		full, ok := IsComplete(raw)
		if !ok {
			t.Fatalf("%s: IsComplete(whole) = false", tc.file)
		}
		if _, ok := IsComplete(raw[:tc.chunk1]); ok != (tc.chunk1 >= full) {
			t.Errorf("%s: IsComplete(first chunk) = %v", tc.file, ok)
		}
		for n := 0; n <= len(raw); n++ {
			off, ok := IsComplete(raw[:n])
			if ok != (n >= full) || (ok && off != full) {
				t.Fatalf("%s: IsComplete(raw[:%d]) = %d, %v; complete at %d", tc.file, n, off, ok, full)
			}
			_, err := Parse(raw[:n])
			if (err == nil) != ok || (!ok && !errors.Is(err, ErrIncomplete)) {
				t.Fatalf("%s: Parse(raw[:%d]) err = %v, IsComplete = %v", tc.file, n, err, ok)
			}
		}
	}
}
