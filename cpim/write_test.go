package cpim

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

func TestNewBytes(t *testing.T) {
	m := New(Address{"Alice Kay", "sip:alice@atlanta.example.com"},
		[]Address{{URI: "sip:chatroom22@chat.example.com"}},
		"text/plain", []byte("Hello"))
	m.SetDateTime(time.Date(2009, 3, 2, 15, 2, 31, 0, time.FixedZone("", -3*3600)))
	want := "From: Alice Kay <sip:alice@atlanta.example.com>\r\n" +
		"To: <sip:chatroom22@chat.example.com>\r\n" +
		"DateTime: 2009-03-02T15:02:31-03:00\r\n" +
		"\r\n" +
		"Content-Type: text/plain\r\n" +
		"\r\n" +
		"Hello"
	if got := string(m.Bytes()); got != want {
		t.Errorf("Bytes =\n%q\nwant\n%q", got, want)
	}
	if got := m.AppendTo([]byte("prefix")); string(got) != "prefix"+want {
		t.Errorf("AppendTo did not append: %q", got)
	}
	if err := m.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestBuilderFull(t *testing.T) {
	from := Address{`Say "hi"`, "sip:a@h"}
	to := []Address{{"B", "sip:b@h"}, {"", "tel:+1-201-555-0123"}}
	m := New(from, to, "text/xml; charset=utf-8", []byte("<body/>"))
	m.AddCc(Address{"Hook", "im:doe@example.com.invalid"})
	m.SetDateTime(time.Date(2000, 12, 13, 13, 40, 0, 5e8, time.UTC))
	m.SetDateTime(time.Date(2000, 12, 13, 13, 40, 0, 0, time.UTC)) // replaces
	m.AddSubject("the weather\nwill be fine ", "")
	m.AddSubject("beau temps", "fr")
	m.AddNS("MyFeatures", "mid:MessageFeatures@id.foo.com")
	m.AddNS("", "urn:default")
	m.SetRequire("MyFeatures.VitalMessageOption")
	if err := m.AddHeader("MyFeatures.VitalMessageOption", `C:\temp`); err != nil {
		t.Fatal(err)
	}
	if err := m.AddMIMEHeader("Content-ID", "<1234567890@foo.com>"); err != nil {
		t.Fatal(err)
	}
	out := m.Bytes()
	if !bytes.Contains(out, []byte("DateTime: 2000-12-13T13:40:00Z\r\n")) ||
		!bytes.Contains(out, []byte(`Subject: the weather\nwill be fine\u0020`+"\r\n")) ||
		!bytes.Contains(out, []byte("Subject:;lang=fr beau temps\r\n")) ||
		!bytes.Contains(out, []byte("NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\nNS: <urn:default>\r\n")) ||
		!bytes.Contains(out, []byte(`MyFeatures.VitalMessageOption: C:\\temp`)) ||
		!bytes.Contains(out, []byte("\r\n\r\nContent-Type: text/xml; charset=utf-8\r\nContent-ID: <1234567890@foo.com>\r\n\r\n<body/>")) {
		t.Errorf("unexpected output:\n%s", out)
	}

	p, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if got, _ := p.From(); got != from {
		t.Errorf("From = %+v", got)
	}
	if got, _ := p.To(); !slices.Equal(got, to) {
		t.Errorf("To = %+v", got)
	}
	if got, _ := p.Cc(); len(got) != 1 || got[0].DisplayName != "Hook" {
		t.Errorf("Cc = %+v", got)
	}
	wantSubj := []Subject{{Value: "the weather\nwill be fine "}, {Value: "beau temps", Lang: "fr"}}
	if got := p.Subjects(); !slices.Equal(got, wantSubj) {
		t.Errorf("Subjects = %+v", got)
	}
	if got := p.Get("MyFeatures.VitalMessageOption"); got != `C:\temp` {
		t.Errorf("extension header = %q", got)
	}
	if got := p.Require(); !slices.Equal(got, []string{"MyFeatures.VitalMessageOption"}) {
		t.Errorf("Require = %q", got)
	}
	if got := p.MIMEHeader("Content-ID"); got != "<1234567890@foo.com>" {
		t.Errorf("Content-ID = %q", got)
	}
}

func TestBuilderClearsRaw(t *testing.T) {
	m := mustParse(t, "From: <sip:a@h>\nTo: <sip:b@h>\nContent-Type: t/p\n\nx")
	if m.Raw == nil || !m.CompactLayout {
		t.Fatal("parse state missing")
	}
	m.AddCc(Address{URI: "sip:c@h"})
	if m.Raw != nil || m.ContentOffset != 0 || m.MIMEOffset != 0 || m.CompactLayout {
		t.Errorf("builder left parse state: %+v", m)
	}
	if len(m.MIMEHeaders) != 1 || m.MIMEHeaders[0].Name != "Content-Type" {
		t.Errorf("appending a message header clobbered the MIME headers: %+v", m.MIMEHeaders)
	}
	want := "From: <sip:a@h>\r\nTo: <sip:b@h>\r\ncc: <sip:c@h>\r\n\r\nContent-Type: t/p\r\n\r\nx"
	if got := string(m.Bytes()); got != want {
		t.Errorf("Bytes = %q", got)
	}
}

func TestAddHeaderErrors(t *testing.T) {
	m := New(Address{URI: "sip:a@h"}, nil, "t/p", nil)
	for _, name := range []string{"", "Content-Foo", "content-type", "Bad Name", "Bad:Name", ".x", "x.", "a.b.c", "Bad\"", "Ünicode"} {
		if err := m.AddHeader(name, "v"); err == nil {
			t.Errorf("AddHeader(%q) succeeded", name)
		}
	}
	for _, name := range []string{"X-Foo", "MyFeatures.WackyMessageOption", "agp.Message-Type"} {
		if err := m.AddHeader(name, "v"); err != nil {
			t.Errorf("AddHeader(%q): %v", name, err)
		}
	}
	if err := m.AddMIMEHeader("", "v"); err == nil {
		t.Error("AddMIMEHeader with empty name succeeded")
	}
	if err := m.AddMIMEHeader("Bad Name", "v"); err == nil {
		t.Error("AddMIMEHeader with SP in name succeeded")
	}
	if err := m.AddMIMEHeader("X", "a\r\nInjected: yes"); err == nil {
		t.Error("AddMIMEHeader with CRLF in value succeeded")
	}
	if err := m.AddMIMEHeader("X", "a\tb"); err != nil {
		t.Errorf("AddMIMEHeader with HTAB: %v", err)
	}
}
