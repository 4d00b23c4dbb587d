package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// A typical RFC 3261 §22.4 / RFC 8760 Authorization value.
const sampleCredentials = `Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ` +
	`uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", algorithm=SHA-256, ` +
	`response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`

func TestParseCredentials(t *testing.T) {
	base := Credentials{
		Username: "bob", Realm: "biloxi.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		URI: "sip:bob@biloxi.com", QOP: "auth", NC: "00000001", CNonce: "0a4f113b", Algorithm: "SHA-256",
		Response: "6629fae49393a05397450978507c4ef1", Opaque: "5ccc069c403ebaf9f0171e9517f40e41",
	}
	minimal := Credentials{Username: "u", Realm: "r", Nonce: "n", URI: "sip:x", Response: "f"}
	with := func(f func(*Credentials)) Credentials { c := minimal; f(&c); return c }
	for _, tc := range []struct {
		name, in string
		want     Credentials
	}{
		{"sample", sampleCredentials, base},
		{"uppercase scheme and names", `DIGEST USERNAME="bob", Realm="biloxi.com", NONCE="dcd98b7102dd2f0e8b11d0f600bfb0c093", ` +
			`Uri="sip:bob@biloxi.com", QOP=auth, NC=00000001, CNonce="0a4f113b", Algorithm=SHA-256, ` +
			`RESPONSE="6629fae49393a05397450978507c4ef1", Opaque="5ccc069c403ebaf9f0171e9517f40e41"`, base},
		{"minimal", `Digest username="u",realm="r",nonce="n",uri="sip:x",response="f"`, minimal},
		{"spaces and tabs", " \tdigest\t username =\t\"u\" ,realm= \"r\"\t,  nonce=\"n\" , uri=\"sip:x\",response=\"f\" \t", minimal},
		{"folded lines", "Digest username=\"u\",\r\n realm=\"r\",\r\n\tnonce=\"n\"\r\n , uri=\"sip:x\", response=\"f\"", minimal},
		{"fold inside a quoted string", "Digest username=\"a\r\n b\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"f\"",
			with(func(c *Credentials) { c.Username = "a b" })},
		{"quoted commas and equals", `Digest username="a, b=c", realm="r", nonce="n", uri="sip:x;a=b,c", response="f"`,
			with(func(c *Credentials) { c.Username = "a, b=c"; c.URI = "sip:x;a=b,c" })},
		{"escapes", `Digest username="a\"b\\c\d", realm="r", nonce="n", uri="sip:x", response="f"`,
			with(func(c *Credentials) { c.Username = `a"b\cd` })},
		{"escaped tab", "Digest username=\"a\\\tb\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"f\"",
			with(func(c *Credentials) { c.Username = "a\tb" })},
		{"UTF-8", `Digest username="zoë", realm="r", nonce="n", uri="sip:x", response="f"`,
			with(func(c *Credentials) { c.Username = "zoë" })},
		{"quoted tokens", `Digest username="u", realm="r", nonce="n", uri="sip:x", response="f", qop="auth", nc="00000002", algorithm="MD5"`,
			with(func(c *Credentials) { c.QOP = "auth"; c.NC = "00000002"; c.Algorithm = "MD5" })},
		{"unquoted values", `Digest username=u, realm=r, nonce=n, uri=x, response=f`,
			with(func(c *Credentials) { c.URI = "x" })},
		{"unknown parameters ignored", `Digest foo=bar, username="u", realm="r", baz="q,\"x", nonce="n", uri="sip:x", response="f", auth-param=1`, minimal},
		{"empty optional", `Digest username="u", realm="r", nonce="n", uri="sip:x", response="f", opaque=""`, minimal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCredentials(tc.in)
			if err != nil {
				t.Fatalf("ParseCredentials(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseCredentials(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseCredentialsErrors(t *testing.T) {
	const tail = `realm="r", nonce="n", uri="sip:x", response="f"`
	for _, tc := range []struct {
		name, in  string
		notDigest bool
	}{
		{"empty", "", false},
		{"spaces", "   ", false},
		{"Basic", "Basic dXNlcjpwYXNz", true},
		{"Bearer", "Bearer abc", true},
		{"scheme alone", "Digest", false},
		{"scheme and space", "Digest ", false},
		{"no space after the scheme", `Digest,username="u", ` + tail, false},
		{"quote after the scheme", `Digest"username"`, false},
		{"duplicate", `Digest username="u", username="v", ` + tail, false},
		{"duplicate in another case", `Digest username="u", USERNAME="u", ` + tail, false},
		{"duplicate optional", `Digest username="u", ` + tail + `, nc=00000001, NC=00000002`, false},
		{"duplicate unknown", `Digest username="u", ` + tail + `, foo=1, Foo="2"`, false},
		{"missing username", `Digest ` + tail, false},
		{"missing realm", `Digest username="u", nonce="n", uri="sip:x", response="f"`, false},
		{"missing nonce", `Digest username="u", realm="r", uri="sip:x", response="f"`, false},
		{"missing uri", `Digest username="u", realm="r", nonce="n", response="f"`, false},
		{"missing response", `Digest username="u", realm="r", nonce="n", uri="sip:x"`, false},
		{"empty username", `Digest username="", ` + tail, false},
		{"trailing comma", `Digest username="u", ` + tail + `,`, false},
		{"empty element", `Digest username="u",, ` + tail, false},
		{"leading comma", `Digest , username="u", ` + tail, false},
		{"no equals", `Digest username "u", ` + tail, false},
		{"no value", `Digest username=, ` + tail, false},
		{"unterminated quote", `Digest username="u, ` + tail, false},
		{"garbage after a quoted value", `Digest username="u"x, ` + tail, false},
		{"two values", `Digest username=u v, ` + tail, false},
		{"semicolon separator", `Digest username="u"; ` + tail, false},
		{"escape at the end", `Digest username="u\`, false},
		{"escaped control", "Digest username=\"a\\\x01\", " + tail, false},
		{"escaped LF", "Digest username=\"a\\\n\", " + tail, false},
		{"raw control", "Digest username=\"a\x00\", " + tail, false},
		{"raw DEL", "Digest username=\"a\x7f\", " + tail, false},
		{"bare LF in a quoted string", "Digest username=\"a\nb\", " + tail, false},
		{"CRLF not folded", "Digest username=\"u\",\r\nrealm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"f\"", false},
		{"invalid UTF-8", "Digest username=\"\xff\", " + tail, false},
		{"too many other parameters", `Digest username="u", ` + tail + manyParams(33), false},
		{"trailing CRLF", `Digest username="u", ` + tail + "\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCredentials(tc.in)
			if err == nil {
				t.Fatalf("ParseCredentials(%q) = %+v, want an error", tc.in, c)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if errors.Is(err, ErrNotDigest) != tc.notDigest {
				t.Fatalf("error %v: wraps ErrNotDigest = %v, want %v", err, !tc.notDigest, tc.notDigest)
			}
		})
	}
}

// manyParams is n distinct unknown parameters, each after a comma.
func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ", x%d=1", i)
	}
	return b.String()
}

func TestParseCredentialsManyParams(t *testing.T) {
	v := `Digest username="u", realm="r", nonce="n", uri="sip:x", response="f"` + manyParams(32)
	if _, err := ParseCredentials(v); err != nil {
		t.Fatalf("32 other parameters: %v", err)
	}
}

func TestCredentialsString(t *testing.T) {
	c := Credentials{
		Username: `a"b\c, d`, Realm: "example.com", Nonce: "n", URI: "sip:room@example.com;transport=tcp",
		Response: "ff", Algorithm: "SHA-256", CNonce: "x y", QOP: "auth", NC: "0000000a", Opaque: "o",
	}
	s := c.String()
	want := `Digest username="a\"b\\c, d", realm="example.com", nonce="n", uri="sip:room@example.com;transport=tcp", ` +
		`response="ff", algorithm=SHA-256, cnonce="x y", qop=auth, nc=0000000a, opaque="o"`
	if s != want {
		t.Fatalf("String() =\n%s\nwant\n%s", s, want)
	}
	back, err := ParseCredentials(s)
	if err != nil || back != c {
		t.Fatalf("ParseCredentials(String()) = %+v, %v; want %+v", back, err, c)
	}
	// Optional fields left out; a non-token algorithm quoted.
	c = Credentials{Username: "u", Realm: "r", Nonce: "n", URI: "sip:x", Response: "f", Algorithm: "a b"}
	if got, want := c.String(), `Digest username="u", realm="r", nonce="n", uri="sip:x", response="f", algorithm="a b"`; got != want {
		t.Fatalf("String() = %s, want %s", got, want)
	}
	// CR and LF cannot split the header field.
	c.Username = "u\r\nVia: x"
	if got := c.String(); strings.ContainsAny(got, "\r\n") {
		t.Fatalf("String() = %q contains CR or LF", got)
	}
}
