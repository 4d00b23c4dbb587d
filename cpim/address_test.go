package cpim

import (
	"errors"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in   string
		want Address
	}{
		{"<sip:alice@example.com>", Address{URI: "sip:alice@example.com"}},
		{"Alice <sip:alice@example.com>", Address{"Alice", "sip:alice@example.com"}},
		{"MR SANDERS <im:piglet@100akerwood.com>", Address{"MR SANDERS", "im:piglet@100akerwood.com"}},
		{`"Alice Kay" <sip:alice@atlanta.example.com>`, Address{"Alice Kay", "sip:alice@atlanta.example.com"}},
		{`"" <sip:a@h>`, Address{URI: "sip:a@h"}},
		{`"Prince of the snow" <im:johnny@example.com.invalid>`, Address{"Prince of the snow", "im:johnny@example.com.invalid"}},
		// escapes
		{`"Say \"hi\"" <sip:a@h>`, Address{`Say "hi"`, "sip:a@h"}},
		{`"back\\slash" <sip:a@h>`, Address{`back\slash`, "sip:a@h"}},
		{`"it\'s" <sip:a@h>`, Address{"it's", "sip:a@h"}},
		{`"a\tb\nc\rd\be" <sip:a@h>`, Address{"a\tb\nc\rd\be", "sip:a@h"}},
		{`"Andr\u00e9" <sip:a@h>`, Address{"André", "sip:a@h"}},
		{`"\u00E9\u20AC" <sip:a@h>`, Address{"é€", "sip:a@h"}},
		{`"\uD83D\uDE00" <sip:a@h>`, Address{"😀", "sip:a@h"}},
		{`"\uD83D" <sip:a@h>`, Address{"\uFFFD", "sip:a@h"}},
		{`"\u0000" <sip:a@h>`, Address{"\x00", "sip:a@h"}},
		{`"André" <sip:a@h>`, Address{"André", "sip:a@h"}},
		// leniency
		{"  Alice <sip:a@h>  ", Address{"Alice", "sip:a@h"}},
		{"Alice<sip:a@h>", Address{"Alice", "sip:a@h"}},
		{`"Alice"<sip:a@h>`, Address{"Alice", "sip:a@h"}},
		{"Alice  Kay <sip:a@h>", Address{"Alice  Kay", "sip:a@h"}},
		{"Alice (mobile) <sip:a@h>", Address{"Alice (mobile)", "sip:a@h"}},
		{`back\slash <sip:a@h>`, Address{`back\slash`, "sip:a@h"}},
		{"<sip:chatroom22@chat.example.com;transport=tcp>", Address{URI: "sip:chatroom22@chat.example.com;transport=tcp"}},
	}
	for _, tt := range tests {
		got, err := ParseAddress(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseAddress(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseAddressErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		"sip:alice@example.com",        // no angle brackets
		"Alice sip:a@h",                // no <
		"<sip:a@h",                     // no >
		"<>",                           // empty URI
		"Alice <sip:a@h> trailing",     // junk after >
		"<sip:a@h>>",                   // junk after >
		"<sip:a b@h>",                  // SP in URI
		"<sip:a<b@h>",                  // < in URI
		"<sip:a\x01@h>",                // CTL in URI
		`"Alice <sip:a@h>`,             // unterminated quote
		`"Alice" x <sip:a@h>`,          // junk between name and <
		`"Alice"`,                      // no URI
		`"bad \q escape" <sip:a@h>`,    // unknown escape
		`"short \u12" <sip:a@h>`,       // short \u
		`"hex \u12G4" <sip:a@h>`,       // non-hex \u
		`"trailing \`,                  // backslash at end
		"\"ctl \x07\" <sip:a@h>",       // CTL in quoted name
		"Al\"ice <sip:a@h>",            // DQUOTE in bare name
		"Al\x01ice <sip:a@h>",          // CTL in bare name
		"\"tab\tinside\"\x7f<sip:a@h>", // DEL between
	} {
		a, err := ParseAddress(in)
		if err == nil {
			t.Errorf("ParseAddress(%q) = %+v, want error", in, a)
			continue
		}
		if !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("ParseAddress(%q) error %v does not wrap ErrInvalidAddress", in, err)
		}
	}
}

func TestAddressString(t *testing.T) {
	tests := []struct {
		a    Address
		want string
	}{
		{Address{URI: "sip:a@h"}, "<sip:a@h>"},
		{Address{"Alice", "sip:a@h"}, "Alice <sip:a@h>"},
		{Address{"Alice Kay", "sip:a@h"}, "Alice Kay <sip:a@h>"},
		{Address{"André", "sip:a@h"}, "André <sip:a@h>"},
		{Address{"O'Neil-Smith_2", "sip:a@h"}, "O'Neil-Smith_2 <sip:a@h>"},
		{Address{"Alice  Kay", "sip:a@h"}, `"Alice  Kay" <sip:a@h>`},
		{Address{" Alice", "sip:a@h"}, `" Alice" <sip:a@h>`},
		{Address{"Alice ", "sip:a@h"}, `"Alice " <sip:a@h>`},
		{Address{"Alice (mobile)", "sip:a@h"}, `"Alice (mobile)" <sip:a@h>`},
		{Address{"a@b", "sip:a@h"}, `"a@b" <sip:a@h>`},
		{Address{`Say "hi"`, "sip:a@h"}, `"Say \"hi\"" <sip:a@h>`},
		{Address{`back\slash`, "sip:a@h"}, `"back\\slash" <sip:a@h>`},
		{Address{"a\tb\nc\rd\be\x01f\x7f", "sip:a@h"}, `"a\tb\nc\rd\be\u0001f\u007F" <sip:a@h>`},
		{Address{"a<b>", "sip:a@h"}, `"a<b>" <sip:a@h>`},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%+v.String() = %s, want %s", tt.a, got, tt.want)
		}
		back, err := ParseAddress(tt.want)
		if err != nil || back != tt.a {
			t.Errorf("ParseAddress(%s) = %+v, %v; want %+v", tt.want, back, err, tt.a)
		}
	}
}

func TestAddressRoundTrip(t *testing.T) {
	for _, in := range []string{
		"Alice  Kay <sip:a@h>",
		"Alice (mobile) <sip:a@h>",
		`back\slash <sip:a@h>`,
		`"\uD83D" <sip:a@h>`,
		`"x\u0000y\u001F" <sip:a@h>`,
		"\xff\xfe <sip:a@h>",
		"\"\xff \\\"\" <sip:a@h>",
		`"" <sip:a@h>`,
	} {
		a, err := ParseAddress(in)
		if err != nil {
			t.Fatalf("ParseAddress(%q): %v", in, err)
		}
		b, err := ParseAddress(a.String())
		if err != nil || b != a {
			t.Errorf("round trip of %q: %q -> %+v, %v; want %+v", in, a.String(), b, err, a)
		}
	}
}

func TestParseAddressNoAlloc(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseAddress(`"Alice Kay" <sip:alice@example.com>`); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ParseAddress without escapes allocates %v times", allocs)
	}
}
