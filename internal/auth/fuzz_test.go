package auth

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseCredentials: ParseCredentials never panics and fails only with
// ErrMalformed; what it accepts has its five required fields, no field
// holds a quote that was not escaped in the input (nor CR, LF or another
// control character but HTAB), and String formats it to a value that
// parses back to the same Credentials.
func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{
		sampleCredentials,
		`Digest username="u",realm="r",nonce="n",uri="sip:x",response="f"`,
		`digest USERNAME="a\"b\\c", realm="a, b", nonce=n, uri="sip:x;a=b,c", response="f", foo=bar`,
		"Digest username=\"a\r\n b\",\r\n\trealm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"f\"",
		`Digest username="u", username="v"`,
		`Basic dXNlcjpwYXNz`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseCredentials(v)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		escapedQuotes := strings.Count(v, `\"`)
		for i, name := range credentialParams {
			val := *c.field(i)
			if i < requiredParams && val == "" {
				t.Fatalf("%s empty in %+v", name, c)
			}
			if n := strings.Count(val, `"`); n > escapedQuotes {
				t.Fatalf("%s = %q has %d quotes, the input %d escaped ones", name, val, n, escapedQuotes)
			}
			for j := 0; j < len(val); j++ {
				if b := val[j]; (b < 0x20 && b != '\t') || b == 0x7f {
					t.Fatalf("%s = %q holds control character %#x", name, val, b)
				}
			}
		}
		s := c.String()
		back, err := ParseCredentials(s)
		if err != nil {
			t.Fatalf("ParseCredentials(%q) (String of %+v): %v", s, c, err)
		}
		if back != c {
			t.Fatalf("round trip through %q:\n got %+v\nwant %+v", s, back, c)
		}
	})
}
