package cpim

import (
	"bytes"
	"errors"
	"testing"
)

// InsertHeaders puts its lines at the end of the message header block in
// both layouts and both line endings; the result parses, the new headers
// are message headers (with their namespace), and the rest is unchanged.
func TestInsertHeaders(t *testing.T) {
	lines := []string{"NS: parley <https://github.com/parley-im/parley/ns/history>", "parley.History: 2026-12-07T05:00:00Z"}
	for name, in := range map[string]string{
		"RFC 3862 layout, CRLF": "From: <sip:a@x>\r\nTo: <sip:r@x>\r\n\r\nContent-Type: text/plain\r\n\r\nhello\r\n\r\nworld",
		"RFC 7701 compact":      "From: <sip:a@x>\r\nTo: <sip:r@x>\r\nContent-Type: text/plain\r\n\r\nhello",
		"bare LF":               "From: <sip:a@x>\nTo: <sip:r@x>\n\nContent-Type: text/plain\n\nhello",
	} {
		t.Run(name, func(t *testing.T) {
			out, err := InsertHeaders([]byte("prefix:"), []byte(in), lines...)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, []byte("prefix:")) {
				t.Fatal("dst not kept")
			}
			out = out[len("prefix:"):]
			m, err := Parse(out)
			if err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			orig, _ := Parse([]byte(in))
			if !bytes.Equal(m.Body, orig.Body) || m.ContentType() != orig.ContentType() {
				t.Errorf("content changed: %q, want %q", m.Body, orig.Body)
			}
			if len(m.Headers) != len(orig.Headers)+2 {
				t.Fatalf("%d message headers, want %d:\n%s", len(m.Headers), len(orig.Headers)+2, out)
			}
			h := m.Headers[len(m.Headers)-1]
			if h.Name != "parley.History" || h.Value != "2026-12-07T05:00:00Z" {
				t.Errorf("last message header %+v", h)
			}
			ns, err := m.NS()
			if err != nil || len(ns) != 1 || ns[0].Prefix != "parley" {
				t.Errorf("NS = %+v, %v", ns, err)
			}
		})
	}
	if _, err := InsertHeaders(nil, []byte("From: <sip:a@x>\r\n"), lines...); !errors.Is(err, ErrIncomplete) {
		t.Errorf("incomplete: %v, want ErrIncomplete", err)
	}
}
