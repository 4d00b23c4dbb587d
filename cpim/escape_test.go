package cpim

import "testing"

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{`a\\b`, `a\b`},
		{`\"q\" \'s\'`, `"q" 's'`},
		{`\b\t\n\r`, "\b\t\n\r"},
		{`caf\u00e9`, "café"},
		{`\u20AC`, "€"},
		{`\ud83d\ude00!`, "😀!"},
		{`\uD83D x`, "\uFFFD x"},    // lone high surrogate
		{`\uDE00`, "\uFFFD"},        // lone low surrogate
		{`\uD83D\u0041`, "\uFFFDA"}, // high surrogate not followed by a low one
		// lenient: malformed escapes are kept as written
		{`\q`, `\q`},
		{`end\`, `end\`},
		{`\u12`, `\u12`},
		{`\u12G4`, `\u12G4`},
	}
	for _, tt := range tests {
		if got := unescape(tt.in); got != tt.want {
			t.Errorf("unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppendEscapedValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Bonjour", "Bonjour"},
		{`a\b`, `a\\b`},
		{"line1\nline2\r\t\b", `line1\nline2\r\t\b`},
		{"nul\x00 del\x7f", `nul\u0000 del\u007F`},
		{`quotes " stay`, `quotes " stay`},
		{"trailing  ", `trailing\u0020\u0020`},
		{"tab\t", `tab\u0009`},
		{"  leading", "  leading"},
		{"é", "é"},
	}
	for _, tt := range tests {
		got := string(appendEscapedValue(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendEscapedValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if back := unescape(got); back != tt.in {
			t.Errorf("unescape(%q) = %q, want %q", got, back, tt.in)
		}
	}
}

func TestAppendQuoted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"Alice Kay", `"Alice Kay"`},
		{`"\`, `"\"\\"`},
		{"\x1b", `"\u001B"`},
	}
	for _, tt := range tests {
		if got := string(appendQuoted(nil, tt.in)); got != tt.want {
			t.Errorf("appendQuoted(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
