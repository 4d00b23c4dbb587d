package cpim

import (
	"errors"
	"strings"
	"testing"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestParseLayouts(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		compact  bool
		msgNames []string
		mime     []string
		body     string
	}{
		{
			name:     "rfc3862 layout",
			in:       crlf("From: <sip:a@h>\nTo: <sip:r@h>\n\nContent-Type: text/plain\n\nhi"),
			msgNames: []string{"From", "To"},
			mime:     []string{"Content-Type"},
			body:     "hi",
		},
		{
			name:     "compact layout",
			in:       crlf("From: <sip:a@h>\nTo: <sip:r@h>\nContent-Type: text/plain\n\nhi"),
			compact:  true,
			msgNames: []string{"From", "To"},
			mime:     []string{"Content-Type"},
			body:     "hi",
		},
		{
			name:     "compact layout, other Content- header first, lowercase",
			in:       crlf("From: <sip:a@h>\ncontent-id: <x@y>\nContent-Type: text/plain\n\n"),
			compact:  true,
			msgNames: []string{"From"},
			mime:     []string{"content-id", "Content-Type"},
		},
		{
			name:     "bare LF line endings",
			in:       "From: <sip:a@h>\nTo: <sip:r@h>\n\nContent-Type: text/plain\n\nline1\nline2\n",
			msgNames: []string{"From", "To"},
			mime:     []string{"Content-Type"},
			body:     "line1\nline2\n",
		},
		{
			name:     "mixed line endings",
			in:       "From: <sip:a@h>\r\nTo: <sip:r@h>\n\r\nContent-Type: text/plain\n\n\r\n",
			msgNames: []string{"From", "To"},
			mime:     []string{"Content-Type"},
			body:     "\r\n",
		},
		{
			name:     "no message headers",
			in:       crlf("\nContent-Type: text/plain\n\nx"),
			msgNames: []string{},
			mime:     []string{"Content-Type"},
			body:     "x",
		},
		{
			name:     "body containing header-like and blank lines",
			in:       crlf("From: <sip:a@h>\n\nContent-Type: text/plain\n\nTo: x\n\nContent-Type: y\n"),
			msgNames: []string{"From"},
			mime:     []string{"Content-Type"},
			body:     crlf("To: x\n\nContent-Type: y\n"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if m.CompactLayout != tt.compact {
				t.Errorf("CompactLayout = %v", m.CompactLayout)
			}
			if got := names(m.Headers); strings.Join(got, ",") != strings.Join(tt.msgNames, ",") {
				t.Errorf("message headers = %q, want %q", got, tt.msgNames)
			}
			if got := names(m.MIMEHeaders); strings.Join(got, ",") != strings.Join(tt.mime, ",") {
				t.Errorf("MIME headers = %q, want %q", got, tt.mime)
			}
			if string(m.Body) != tt.body {
				t.Errorf("Body = %q, want %q", m.Body, tt.body)
			}
			if string(m.Raw[m.ContentOffset:]) != tt.body {
				t.Errorf("Raw[ContentOffset:] = %q", m.Raw[m.ContentOffset:])
			}
			if mimeLine := tt.in[m.MIMEOffset:]; !strings.HasPrefix(mimeLine, tt.mime[0]+":") {
				t.Errorf("MIMEOffset %d points at %q", m.MIMEOffset, mimeLine)
			}
		})
	}
}

func names(hs []Header) []string {
	ns := []string{}
	for _, h := range hs {
		ns = append(ns, h.Name)
	}
	return ns
}

func TestParseHeaderSyntax(t *testing.T) {
	m, err := Parse([]byte(crlf(
		"Subject:;lang=fr Bonjour\n" +
			"From:<sip:a@h>\n" +
			"To: <sip:r@h>   \n" +
			"NS: MyFeatures <mid:x@y>\n" +
			"MyFeatures.WackyMessageOption: Use-silly-font\n" +
			"X-Empty:\n" +
			"\nContent-Type:\ttext/plain\n\n")))
	if err != nil {
		t.Fatal(err)
	}
	want := []Header{
		{Name: "Subject", Params: ";lang=fr", Value: "Bonjour"},
		{Name: "From", Value: "<sip:a@h>"},
		{Name: "To", Value: "<sip:r@h>"},
		{Name: "NS", Value: "MyFeatures <mid:x@y>"},
		{Name: "MyFeatures.WackyMessageOption", Value: "Use-silly-font"},
		{Name: "X-Empty"},
	}
	if len(m.Headers) != len(want) {
		t.Fatalf("headers = %+v", m.Headers)
	}
	for i := range want {
		if m.Headers[i] != want[i] {
			t.Errorf("header %d = %+v, want %+v", i, m.Headers[i], want[i])
		}
	}
	if ct := m.ContentType(); ct != "text/plain" {
		t.Errorf("ContentType = %q", ct)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int   // for a *SyntaxError
		is   error // for a sentinel
	}{
		{"no colon", "From <sip:a@h>\n\nContent-Type: t/p\n\n", 1, nil},
		{"empty name", "From: <sip:a@h>\n: x\n\nContent-Type: t/p\n\n", 2, nil},
		{"space in name", "From : <sip:a@h>\n\nContent-Type: t/p\n\n", 1, nil},
		{"leading whitespace (folding)", "From: <sip:a@h>\n To: x\n\nContent-Type: t/p\n\n", 2, nil},
		{"non-ASCII name", "Fr\xc3\xb6m: x\n\nContent-Type: t/p\n\n", 1, nil},
		{"control char in value", "From: <sip:a\x01@h>\n\nContent-Type: t/p\n\n", 1, nil},
		{"HTAB in message header value", "Subject: a\tb\n\nContent-Type: t/p\n\n", 1, nil},
		{"DEL in value", "Subject: a\x7fb\n\nContent-Type: t/p\n\n", 1, nil},
		{"bare CR in value", "Subject: a\rb\r\n\r\nContent-Type: t/p\r\n\r\n", 1, nil},
		{"control char in params", "Subject:;lang=\x02 x\n\nContent-Type: t/p\n\n", 1, nil},
		{"whitespace-only line", "From: <sip:a@h>\n  \n\nContent-Type: t/p\n\n", 2, nil},
		{"bad MIME line", "From: <sip:a@h>\n\nContent-Type: t/p\nnonsense\n\n", 4, nil},
		{"control char in MIME value", "From: <sip:a@h>\n\nContent-Type: t/\x00p\n\n", 3, nil},
		{"content without MIME headers", "From: <sip:a@h>\n\nHello\n\n", 3, nil},
		{"syntax error before the end of a partial buffer", "From: <sip:a@h>\nbad\nTo: <sip:", 2, nil},
		{"missing Content-Type", "From: <sip:a@h>\n\nContent-ID: <x>\n\nbody", 0, ErrMissingHeader},
		{"empty MIME block", "From: <sip:a@h>\n\n\nbody", 0, ErrMissingHeader},
		{"empty Content-Type", "From: <sip:a@h>\n\nContent-Type: \n\nbody", 0, ErrInvalidValue},
		{"empty input", "", 0, ErrIncomplete},
		{"no blank line after MIME headers", "From: <sip:a@h>\n\nContent-Type: t/p\n", 0, ErrIncomplete},
		{"last line unterminated", "From: <sip:a@h>\n\nContent-Type: t/p", 0, ErrIncomplete},
		{"compact, MIME block not closed", "From: <sip:a@h>\nContent-Type: t/p\nbody", 0, ErrIncomplete},
		{"no blank line at all", "From: <sip:a@h>\nTo: <sip:b@h>\n", 0, ErrIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", m)
			}
			if m != nil {
				t.Error("Parse returned a message with an error")
			}
			if !strings.HasPrefix(err.Error(), "cpim: ") {
				t.Errorf("error %q lacks the cpim: prefix", err)
			}
			if tt.is != nil {
				if !errors.Is(err, tt.is) {
					t.Errorf("err = %v, want %v", err, tt.is)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v (%T), want *SyntaxError", err, err)
			}
			if se.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", se.Line, tt.line, err)
			}
		})
	}
}

func TestParseContentTypeError(t *testing.T) {
	_, err := Parse([]byte("From: <sip:a@h>\r\n\r\nContent-ID: <x>\r\n\r\n"))
	var he *HeaderError
	if !errors.As(err, &he) || he.Name != "Content-Type" {
		t.Fatalf("err = %v, want *HeaderError for Content-Type", err)
	}
}

func TestIsComplete(t *testing.T) {
	tests := []struct {
		in  string
		off int
		ok  bool
	}{
		{"", 0, false},
		{"From: <sip:a@h>\r\n", 0, false},
		{"From: <sip:a@h>\r\n\r\n", 0, false},
		{"From: <sip:a@h>\r\n\r\nContent-Type: t/p\r\n", 0, false},
		{"From: <sip:a@h>\r\n\r\nContent-Type: t/p\r\n\r", 0, false},
		{"From: <sip:a@h>\r\n\r\nContent-Type: t/p\r\n\r\n", 40, true},
		{"From: <sip:a@h>\r\n\r\nContent-Type: t/p\r\n\r\nbody", 40, true},
		{"From: <sip:a@h>\r\nContent-Type: t/p\r\n", 0, false},
		{"From: <sip:a@h>\r\nContent-Type: t/p\r\n\r\n", 38, true},
		{"From: <sip:a@h>\nContent-Type: t/p\n\nx", 35, true},
		{"garbage without newline", 0, false},
		// framing only: syntax is Parse's job
		{"garbage\n\nContent-Type: t/p\n\n", 28, true},
	}
	for _, tt := range tests {
		off, ok := IsComplete([]byte(tt.in))
		if off != tt.off || ok != tt.ok {
			t.Errorf("IsComplete(%q) = %d, %v; want %d, %v", tt.in, off, ok, tt.off, tt.ok)
		}
	}
}

// TestParseAllocs holds Parse to its budget: the Message, one string for the
// header block, one slice of headers.
func TestParseAllocs(t *testing.T) {
	raw := readGolden(t, "rfc7701-9.3-regular.cpim")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Parse(raw); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 {
		t.Errorf("Parse allocates %v times, want <= 3", allocs)
	}
	m, _ := Parse(raw)
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := m.From(); err != nil {
			t.Fatal(err)
		}
		_ = m.ContentType()
		_, _ = IsComplete(raw)
	})
	if allocs != 0 {
		t.Errorf("From+ContentType+IsComplete allocate %v times, want 0", allocs)
	}
}

func BenchmarkParse(b *testing.B) {
	raw := readGolden(b, "rfc7701-9.3-regular.cpim")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIsComplete(b *testing.B) {
	raw := readGolden(b, "rfc7701-9.3-regular.cpim")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, ok := IsComplete(raw); !ok {
			b.Fatal("incomplete")
		}
	}
}
