package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// RFC 7616 §3.9.1: the MD5 and SHA-256 responses for Mufasa.
const (
	rfcUser     = "Mufasa"
	rfcPassword = "Circle of Life"
	rfcRealm    = "http-auth@example.org"
	rfcMethod   = "GET"
	rfcURI      = "/dir/index.html"
	rfcNonce    = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
	rfcCNonce   = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	rfcNC       = "00000001"
	rfcMD5      = "8ca523f5e9506fed4657c9700eebdbec"
	rfcSHA256   = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
)

func TestRFC7616Vectors(t *testing.T) {
	for _, tc := range []struct{ alg, want string }{{MD5, rfcMD5}, {SHA256, rfcSHA256}} {
		ha1 := HA1(tc.alg, rfcUser, rfcRealm, rfcPassword)
		if got := response(tc.alg, ha1, rfcNonce, rfcNC, rfcCNonce, "auth", rfcMethod, rfcURI); got != tc.want {
			t.Errorf("%s response = %s, want %s (RFC 7616 §3.9.1)", tc.alg, got, tc.want)
		}
	}
}

// RFC 2617 §3.5: the MD5 example with qop=auth.
func TestRFC2617Vector(t *testing.T) {
	ha1 := HA1(MD5, "Mufasa", "testrealm@host.com", "Circle Of Life")
	got := response(MD5, ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b", "auth", "GET", "/dir/index.html")
	if want := "6629fae49393a05397450978507c4ef1"; got != want {
		t.Errorf("response = %s, want %s (RFC 2617 §3.5)", got, want)
	}
}

func TestHA1(t *testing.T) {
	m := md5.Sum([]byte("alice:example.com:secret"))
	s := sha256.Sum256([]byte("alice:example.com:secret"))
	for _, tc := range []struct{ alg, want string }{
		{MD5, hex.EncodeToString(m[:])},
		{"md5", hex.EncodeToString(m[:])},
		{SHA256, hex.EncodeToString(s[:])},
		{"sha-256", hex.EncodeToString(s[:])},
		{"", ""},
		{"MD5-sess", ""},
		{"SHA-256-sess", ""},
		{"SHA-512-256", ""},
		{"SHA256", ""},
	} {
		if got := HA1(tc.alg, "alice", "example.com", "secret"); got != tc.want {
			t.Errorf("HA1(%q) = %q, want %q", tc.alg, got, tc.want)
		}
	}
}

// Without qop (RFC 2069): H(HA1 ":" nonce ":" HA2).
func TestResponseWithoutQOP(t *testing.T) {
	ha1 := HA1(SHA256, "alice", "example.com", "secret")
	ha2 := sha256.Sum256([]byte("INVITE:sip:room@example.com"))
	want := sha256.Sum256([]byte(ha1 + ":abc:" + hex.EncodeToString(ha2[:])))
	if got := response(SHA256, ha1, "abc", "", "", "", "INVITE", "sip:room@example.com"); got != hex.EncodeToString(want[:]) {
		t.Errorf("response = %s, want %x", got, want)
	}
}

// TestHA1s: an account's record holds the HA1 of every algorithm offered.
func TestHA1s(t *testing.T) {
	got := HA1s("Mufasa", "http-auth@example.org", "Circle of Life")
	if len(got) != 2 || got[SHA256] != HA1(SHA256, "Mufasa", "http-auth@example.org", "Circle of Life") ||
		got[MD5] != HA1(MD5, "Mufasa", "http-auth@example.org", "Circle of Life") || got[MD5] == "" {
		t.Fatalf("HA1s = %v", got)
	}
}
