package main

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// mentions reports whether text names one of names as a word of its own,
// ignoring case: "alice: hi", "hi @alice", "ALICE!" mention alice;
// "malice" and "alice2" do not. An empty name mentions nothing.
func mentions(text string, names ...string) bool {
	lower := strings.ToLower(text)
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		for from := 0; from < len(lower); {
			i := strings.Index(lower[from:], n)
			if i < 0 {
				break
			}
			start, end := from+i, from+i+len(n)
			before, _ := utf8.DecodeLastRuneInString(lower[:start])
			after, _ := utf8.DecodeRuneInString(lower[end:])
			if (start == 0 || !wordRune(before)) && (end == len(lower) || !wordRune(after)) {
				return true
			}
			_, size := utf8.DecodeRuneInString(lower[start:])
			from = start + size
		}
	}
	return false
}

// wordRune is a rune that continues a name.
func wordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
