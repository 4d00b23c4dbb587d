package cpim

import (
	"errors"
	"testing"
)

func TestParseHeaderLine(t *testing.T) {
	tests := []struct {
		line string
		mime bool
		want Header
	}{
		{"From: <sip:a@h>", false, Header{Name: "From", Value: "<sip:a@h>"}},
		{"From:<sip:a@h>", false, Header{Name: "From", Value: "<sip:a@h>"}},
		{"From: <sip:a@h> \t", false, Header{Name: "From", Value: "<sip:a@h>"}},
		{"From:  two", false, Header{Name: "From", Value: " two"}},
		{"Subject:;lang=fr Bonjour", false, Header{Name: "Subject", Params: ";lang=fr", Value: "Bonjour"}},
		{"Subject:;lang=fr;x=y Bonjour tout", false, Header{Name: "Subject", Params: ";lang=fr;x=y", Value: "Bonjour tout"}},
		{"Subject:;lang=fr", false, Header{Name: "Subject", Params: ";lang=fr"}},
		{"Subject: ;lang=fr", false, Header{Name: "Subject", Value: ";lang=fr"}},
		{"X:", false, Header{Name: "X"}},
		{"MyFeatures.WackyMessageOption: Use-silly-font", false, Header{Name: "MyFeatures.WackyMessageOption", Value: "Use-silly-font"}},
		{"cc: <im:x@y>", false, Header{Name: "cc", Value: "<im:x@y>"}},
		{"Content-Type: text/plain; charset=utf-8", true, Header{Name: "Content-Type", Value: "text/plain; charset=utf-8"}},
		{"Content-Type:;x", true, Header{Name: "Content-Type", Value: ";x"}},
		{"X-Tab: a\tb", true, Header{Name: "X-Tab", Value: "a\tb"}},
	}
	for _, tt := range tests {
		got, err := parseHeaderLine(tt.line, 1, tt.mime)
		if err != nil || got != tt.want {
			t.Errorf("parseHeaderLine(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}

func TestParseHeaderLineErrors(t *testing.T) {
	for _, line := range []string{
		"no colon",
		": empty name",
		" From: x",
		"Fr om: x",
		"From\x00: x",
		"From: a\x01b",
		"From: a\tb",
		"Subject:;l\x01 x",
	} {
		_, err := parseHeaderLine(line, 7, false)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != 7 {
			t.Errorf("parseHeaderLine(%q) err = %v, want *SyntaxError at line 7", line, err)
		}
	}
}

func TestHeaderLang(t *testing.T) {
	tests := []struct{ params, want string }{
		{"", ""},
		{";lang=fr", "fr"},
		{";LANG=de-CH", "de-CH"},
		{";x=y;lang=en", "en"},
		{";;lang=en;", "en"},
		{";language=en", ""},
		{";lang", ""},
	}
	for _, tt := range tests {
		if got := (Header{Params: tt.params}).Lang(); got != tt.want {
			t.Errorf("Lang(%q) = %q, want %q", tt.params, got, tt.want)
		}
	}
}
