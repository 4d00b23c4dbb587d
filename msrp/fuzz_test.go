package msrp

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var fuzzLimits = Limits{MaxStartLine: 200, MaxHeaderBytes: 1000, MaxChunk: 500}

func addGoldenSeeds(f *testing.F, add func([]byte)) {
	files, _ := filepath.Glob("testdata/rfc*/*.msrp")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzReader feeds the same input whole, split in two at a fuzzed index,
// one byte at a time, and as the relay reads an idle connection (the
// buffer released between messages, the next input read by the caller into
// a fresh 4 KiB buffer, a fuzzed number of bytes at a time, and handed back
// with SetBuffer). Properties: no panic; the three readings agree
// message for message and error for error; limits hold; every accepted
// message serializes to a form that parses back to the same message; the
// Reassembler never holds more than its cap.
func FuzzReader(f *testing.F) {
	addGoldenSeeds(f, func(b []byte) { f.Add(b, uint16(len(b)/2)) })
	f.Add([]byte("MSRP abcd SEND\r\nContent-Type: a/b\r\n\r\n-------abcd$\r\n"), uint16(20))
	// Lost framing (ErrEndLineMismatch) and Use-Nickname values for ParseUseNickname.
	f.Add([]byte("MSRP abcd SEND\r\nTo-Path: x\r\n-------wxyz$\r\nMSRP wxyz SEND\r\n-------wxyz$\r\n"), uint16(30))
	f.Add([]byte("MSRP abcd SEND\r\nContent-Type: a/b\r\n\r\nbody\r\n-------abcdX\r\n"), uint16(45))
	f.Add([]byte("MSRP abcd SEND\r\nByte-Range: 1-4/9\r\nContent-Type: a/b\r\n\r\nbody\r\n-------wxyz+\r\nmore\r\n-------abcd$\r\n"), uint16(60))
	f.Add([]byte("MSRP abcd NICKNAME\r\nUse-Nickname: \"a\x01\xff\"\r\n-------abcd$\r\n"), uint16(10))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		whole := collect(t, bytes.NewReader(data), fuzzLimits)
		k := int(split) % (len(data) + 1)
		halves := collect(t, io.MultiReader(bytes.NewReader(data[:k]), bytes.NewReader(data[k:])), fuzzLimits)
		if !reflect.DeepEqual(whole, halves) {
			t.Fatalf("split at %d changes the result:\nwhole  %+v\nhalves %+v", k, whole, halves)
		}
		bytewise := collect(t, oneByteReader{bytes.NewReader(data)}, fuzzLimits)
		if !reflect.DeepEqual(whole, bytewise) {
			t.Fatalf("byte-by-byte reading changes the result")
		}
		released := collectReleasing(t, bytes.NewReader(data), fuzzLimits, 1+int(split)%64)
		if !reflect.DeepEqual(whole, released) {
			t.Fatalf("releasing the buffer between messages changes the result:\nwhole    %+v\nreleased %+v", whole, released)
		}
		ra := NewReassembler(2000)
		for _, res := range whole {
			if res.Err != "" || res.Msg == nil {
				continue
			}
			m := res.Msg
			if len(m.Body) > fuzzLimits.MaxChunk {
				t.Fatalf("body of %d bytes over the %d limit", len(m.Body), fuzzLimits.MaxChunk)
			}
			wire := m.Bytes()
			again := collect(t, bytes.NewReader(wire), Limits{MaxStartLine: 400, MaxHeaderBytes: 2000, MaxChunk: 500})
			if len(again) != 1 || again[0].Err != "" {
				t.Fatalf("re-serialized message does not parse: %q → %+v", wire, again)
			}
			a := again[0].Msg
			if a.TID != m.TID || a.Method != m.Method || a.Code != m.Code || a.Comment != m.Comment ||
				!bytes.Equal(a.Body, m.Body) || a.Flag != m.Flag || len(a.Header) != len(m.Header) {
				t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", a, m)
			}
			if !bytes.Equal(a.Bytes(), wire) {
				t.Fatalf("serialization is not stable")
			}
			if m.Method == MethodSEND && m.HasBody() {
				body, done, err := ra.Add(m)
				if done && err == nil && len(body) > 2000 {
					t.Fatalf("reassembled %d bytes over the cap", len(body))
				}
			}
		}
	})
}

// FuzzURI: whatever parses formats to a string that parses to the same URI,
// which Equal considers equal.
func FuzzURI(f *testing.F) {
	for _, s := range []string{"msrp://host.example.com:8493/asfd34;tcp", "msrps://[2001:db8::1]:2855/a+b=c/d;ws;x=y",
		"msrps://alice@a.example.com:443;ws", "msrp://%41b:1/s;tcp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		v, err := ParseURI(u.String())
		if err != nil || v != u || !u.Equal(v) || !v.Equal(u) {
			t.Fatalf("%q → %q → %+v, %v", s, u.String(), v, err)
		}
		if p, err := ParsePath(s + " " + s); err != nil || len(p) != 2 {
			t.Fatalf("path of a valid URI twice: %v", err)
		}
	})
}

// FuzzUseNickname: an accepted nickname quotes and parses back unchanged,
// and never exceeds 1023 octets.
func FuzzUseNickname(f *testing.F) {
	for _, s := range []string{`"Alice the great"`, `Alice`, `""`, `"a \"b\" \\"`, `"unterminated`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nick, err := ParseUseNickname(s)
		if err != nil {
			return
		}
		if len(nick) > MaxNicknameOctets {
			t.Fatalf("accepted %d octets", len(nick))
		}
		q, err := QuoteNickname(nick)
		if err != nil {
			t.Fatalf("cannot quote accepted nickname %q: %v", nick, err)
		}
		if back, err := ParseUseNickname(q); err != nil || back != nick {
			t.Fatalf("%q → %q → %q, %v", s, q, back, err)
		}
	})
}

// collectReleasing reads src as the relay's read loop does between
// messages: ReleaseBuffer, then at most chunk bytes read into a new
// 4 KiB buffer given back with SetBuffer.
func collectReleasing(t testing.TB, src io.Reader, lim Limits, chunk int) []result {
	t.Helper()
	r := NewReader(src, lim)
	return collectFrom(t, r, func() {
		if b := r.ReleaseBuffer(); b != nil || r.BufferSize() == 0 {
			buf := make([]byte, 4096)
			if n, _ := src.Read(buf[:chunk]); n > 0 {
				r.SetBuffer(buf[:n])
			}
		}
	})
}
