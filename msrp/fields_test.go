package msrp

import (
	"errors"
	"strings"
	"testing"
)

func TestByteRange(t *testing.T) {
	good := map[string]ByteRange{
		"1-0/0":       {1, 0, 0},
		"1-*/*":       {1, Unknown, Unknown},
		"1-137/148":   {1, 137, 148},
		"138-148/148": {138, 148, 148},
		"1-*/174":     {1, Unknown, 174},
		"5-8/*":       {5, 8, Unknown},
	}
	for in, want := range good {
		r, err := ParseByteRange(in)
		if err != nil || r != want || r.String() != in {
			t.Errorf("%s: got %+v %v (String %s)", in, r, err, r.String())
		}
	}
	for _, in := range []string{"", "0-1/1", "1-2", "1/2", "-1/1", "a-1/1", "2-0/5", "1-5/4", "7-*/5",
		"1-1/1/1", "1-1/", "1--1/1", "1-" + strings.Repeat("9", 19) + "/*", "1-*/-1"} {
		if _, err := ParseByteRange(in); err == nil {
			t.Errorf("%q: accepted", in)
		}
	}
}

func TestUseNickname(t *testing.T) {
	good := map[string]string{
		`"Alice the great"`:                   "Alice the great",
		`"a \"quoted\" \\ x"`:                 `a "quoted" \ x`,
		`""`:                                  "",
		``:                                    "",
		`Alice`:                               "Alice",   // unquoted, as sipsimple sends it
		`  Bob  `:                             "Bob",     // trimmed
		`"Zoë 🙂"`:                             "Zoë 🙂",   // UTF8-NONASCII
		`"tab	ok"`:                            "tab\tok", // HTAB is qdtext
		`"` + strings.Repeat("x", 1023) + `"`: strings.Repeat("x", 1023),
	}
	for in, want := range good {
		got, err := ParseUseNickname(in)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
		q, err := QuoteNickname(want)
		if err != nil {
			t.Errorf("quote %q: %v", want, err)
		}
		if back, err := ParseUseNickname(q); err != nil || back != want {
			t.Errorf("quote round trip %q: %q %v", want, back, err)
		}
	}
	for _, in := range []string{`"unterminated`, `"bad \n escape"`, `"a"b`, `"ctl` + "\x01" + `"`,
		"raw\x7f", `"` + strings.Repeat("x", 1024) + `"`, strings.Repeat("y", 1024), "\"\xff\""} {
		if _, err := ParseUseNickname(in); !errors.Is(err, ErrMalformedNickname) {
			t.Errorf("%q: got %v, want ErrMalformedNickname", in, err)
		}
	}
	if _, err := QuoteNickname("a\x00b"); !errors.Is(err, ErrMalformedNickname) {
		t.Error("QuoteNickname accepted a control character")
	}
}

func TestIDs(t *testing.T) {
	var s IDSource
	seen := map[string]bool{}
	for range 5000 {
		tid := s.TID()
		if len(tid) != TIDLength || !ValidTID(tid) || seen[tid] {
			t.Fatalf("bad or repeated tid %q", tid)
		}
		seen[tid] = true
	}
	if id := NewSessionID(); len(id) != SessionIDLength {
		t.Errorf("session id %q", id)
	}
	for i := 0; i < len(NewSessionID()); i++ {
		if !isSessionIDChar(NewSessionID()[i]) {
			t.Fatal("session id has a character not allowed in an MSRP URI")
		}
	}
	if id := NewMessageID(); !ValidTID(id) {
		t.Errorf("message id %q is not an ident", id)
	}
	// Appending keeps what dst holds, in dst's capacity or grown.
	for _, dst := range [][]byte{[]byte("pre"), append(make([]byte, 0, 64), "pre"...)} {
		got := s.AppendID(dst, TIDLength)
		if len(got) != 3+TIDLength || string(got[:3]) != "pre" || !ValidTID(string(got[3:])) {
			t.Fatalf("AppendID(%q) = %q", dst, got)
		}
	}
	// Every alphabet character appears: the rejection sampling is not stuck.
	counts := map[byte]int{}
	for _, c := range s.AppendID(nil, 62*200) {
		counts[c]++
	}
	if len(counts) != 62 {
		t.Errorf("only %d distinct characters", len(counts))
	}
	// Uniform: a chi-square over 62 × 2,000 characters (61 degrees of
	// freedom, mean 61; 140 is beyond the 10⁻⁸ tail). A skewed mapping of
	// the random octets fails it.
	counts = map[byte]int{}
	const each = 2000
	for _, c := range s.AppendID(nil, 62*each) {
		counts[c]++
	}
	chi2 := 0.0
	for i := range len(idAlphabet) {
		d := float64(counts[idAlphabet[i]] - each)
		chi2 += d * d / each
	}
	if chi2 > 140 {
		t.Errorf("characters not uniform: chi-square %.1f over 61 degrees of freedom\n%v", chi2, counts)
	}
	// Every position of a transaction id is uniform too (ten of its
	// characters come from one 64-bit word, the last from an octet): a
	// skewed word rejection or digit split fails this.
	const tids = 62 * 400
	var pos [TIDLength][62]int
	index := func(c byte) int { return strings.IndexByte(idAlphabet, c) }
	for range tids {
		for i, c := range []byte(s.TID()) {
			pos[i][index(c)]++
		}
	}
	for i := range pos {
		chi2 := 0.0
		for _, n := range pos[i] {
			d := float64(n - tids/62)
			chi2 += d * d / (tids / 62)
		}
		if chi2 > 140 {
			t.Errorf("position %d of a transaction id not uniform: chi-square %.1f over 61 degrees of freedom", i, chi2)
		}
	}
	for _, bad := range []string{"abc", "_abc", "ab cd", strings.Repeat("a", 33)} {
		if ValidTID(bad) {
			t.Errorf("ValidTID(%q)", bad)
		}
	}
}

func TestHeaderOps(t *testing.T) {
	h := Header{{"To-Path", "a"}, {"x-foo", "1"}, {"X-Foo", "2"}, {"From-Path", "b"}}
	if h.Get("x-FOO") != "1" || h.Count("X-FOO") != 2 || len(h.Values("x-foo")) != 2 {
		t.Error("lookup is not case-insensitive")
	}
	h.Set("X-Foo", "3")
	if h.Count("x-foo") != 1 || h.Get("x-foo") != "3" || h[len(h)-1].Name != "From-Path" {
		t.Errorf("Set: %+v", h)
	}
	h.Del("x-foo")
	if h.Has("x-foo") || len(h) != 2 {
		t.Errorf("Del: %+v", h)
	}
	h.Set("Message-ID", "m")
	if h[len(h)-1].Value != "m" {
		t.Errorf("Set appends: %+v", h)
	}
}

func TestStatusHeader(t *testing.T) {
	s, err := ParseStatus("000 200 OK")
	if err != nil || s != (Status{0, 200, "OK"}) {
		t.Errorf("got %+v %v", s, err)
	}
	if s, err := ParseStatus("000 413"); err != nil || s.Code != 413 || s.Comment != "" {
		t.Errorf("got %+v %v", s, err)
	}
	for _, bad := range []string{"", "200", "000 20", "0a0 200", "000 200X", "000-200"} {
		if _, err := ParseStatus(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, code := range []int{200, 400, 403, 404, 408, 413, 415, 423, 424, 425, 428, 481, 501, 506} {
		if StatusText(code) == defaultReportCommentUnknown {
			t.Errorf("no reason phrase for %d", code)
		}
	}
	if StatusText(424) != "Malformed nickname" || StatusText(425) != "Nickname reserved or already in use" ||
		StatusText(428) != "Private messages not supported" || StatusText(404) != "Failure to resolve recipient's URI" {
		t.Error("RFC 7701 reason phrases must match the IANA registry")
	}
}
