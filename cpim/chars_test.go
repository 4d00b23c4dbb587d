package cpim

import "testing"

func TestCharClasses(t *testing.T) {
	const nameChars = "!#$%&'*+-^_`|~09AZaz"
	for c := 0; c < 256; c++ {
		b := byte(c)
		wantName := false
		for i := 0; i < len(nameChars); i++ {
			if nameChars[i] == b {
				wantName = true
			}
		}
		wantName = wantName || isAlphaNum(b)
		if isNameChar(b) != wantName {
			t.Errorf("isNameChar(%q) = %v", b, !wantName)
		}
		if want := wantName || b == '.' || b >= 0x80; isTokenChar(b) != want {
			t.Errorf("isTokenChar(%q) = %v", b, !want)
		}
		if want := b < 0x20 || b == 0x7f; isCTL(b) != want {
			t.Errorf("isCTL(%q) = %v", b, !want)
		}
	}
	for _, c := range []byte("\"(),/:;<=>?@[\\]{} .") {
		if isNameChar(c) {
			t.Errorf("isNameChar(%q) = true", c)
		}
	}
	if !isUnreserved('~') || !isUnreserved('(') || isUnreserved('%') || isUnreserved(';') {
		t.Error("isUnreserved")
	}
	if !isHex('f') || !isHex('F') || isHex('g') || unhex('b') != 11 || unhex('B') != 11 || unhex('7') != 7 {
		t.Error("isHex/unhex")
	}
}

func TestEqualFold(t *testing.T) {
	if !equalFold("Content-Type", "content-TYPE") || equalFold("é", "É") || equalFold("a", "ab") {
		t.Error("equalFold")
	}
	if !hasPrefixFold("CONTENT-id", "content-") || hasPrefixFold("Cont", "content-") {
		t.Error("hasPrefixFold")
	}
	if got := trimWS(" \t a b\t "); got != "a b" {
		t.Errorf("trimWS = %q", got)
	}
}
