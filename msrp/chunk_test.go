package msrp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestChunker(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 1000) // 10000 bytes
	c := NewChunker(body, 4096)
	var got []byte
	var ranges []ByteRange
	for {
		r, data, flag, ok := c.Next()
		if !ok {
			break
		}
		ranges = append(ranges, r)
		got = append(got, data...)
		if (flag == FlagEnd) != c.Done() {
			t.Fatal("flag and Done disagree")
		}
	}
	if !bytes.Equal(got, body) || len(ranges) != 3 {
		t.Fatalf("%d chunks", len(ranges))
	}
	// chunks over 2048 octets are interruptible (range-end "*"); the last one (1808 octets) is exact
	if ranges[0] != (ByteRange{1, Unknown, 10000}) || ranges[2] != (ByteRange{8193, 10000, 10000}) {
		t.Errorf("ranges %v", ranges)
	}
	small := NewChunker(body[:3000], 2048)
	r1, _, _, _ := small.Next()
	r2, _, f2, _ := small.Next()
	if r1 != (ByteRange{1, 2048, 3000}) || r2 != (ByteRange{2049, 3000, 3000}) || f2 != FlagEnd {
		t.Errorf("small chunks %v %v", r1, r2)
	}
	empty := NewChunker(nil, 0)
	r, data, flag, ok := empty.Next()
	if !ok || r != (ByteRange{1, 0, 0}) || len(data) != 0 || flag != FlagEnd {
		t.Errorf("empty: %v %q %c", r, data, flag)
	}
}

func TestChunkerInterrupt(t *testing.T) {
	body := bytes.Repeat([]byte("abcdefgh"), 1000)
	c := NewChunker(body, 0)
	r, data, _, _ := c.Next()
	if r.End != Unknown || len(data) != len(body) {
		t.Fatalf("first chunk %v", r)
	}
	c.Interrupt(3000) // only 3000 bytes went out, end-line "+"
	r, data, flag, ok := c.Next()
	if !ok || r.Start != 3001 || len(data) != len(body)-3000 || flag != FlagEnd {
		t.Fatalf("resumed chunk %v len %d", r, len(data))
	}
}

// TestReassembleShuffled: chunks in any order, overlapping, with the "$"
// chunk early, reassemble to the original body.
func TestReassembleShuffled(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		body := make([]byte, 1+rng.IntN(5000))
		for i := range body {
			body[i] = byte(rng.IntN(256))
		}
		var chunks []*Message
		resent := false
		for pos := 0; pos < len(body); {
			n := 1 + rng.IntN(700)
			end := min(pos+n, len(body))
			flag := FlagContinue
			if end == len(body) {
				flag = FlagEnd
			}
			total := "*"
			if rng.IntN(2) == 0 {
				total = itoa(len(body))
			}
			chunks = append(chunks, chunkMsg("mid12345", pos+1, body[pos:end], flag, total))
			if rng.IntN(4) == 0 && pos > 10 { // an overlapping resend of earlier bytes
				chunks = append(chunks, chunkMsg("mid12345", pos-9, body[pos-10:end], FlagContinue, total))
				resent = true
			}
			pos = end
		}
		rng.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
		ra := NewReassembler(10000)
		var out []byte
		for i, c := range chunks {
			b, done, err := ra.Add(c)
			if err != nil {
				t.Fatalf("trial %d chunk %d: %v", trial, i, err)
			}
			if done && out == nil {
				out = b
			}
		}
		// A resent chunk arriving after completion opens new state, which
		// the chunk timer drops (Drop); without resends nothing is left.
		if !bytes.Equal(out, body) || (!resent && ra.Pending() != 0) {
			t.Fatalf("trial %d: reassembled %d bytes, want %d; pending %d", trial, len(out), len(body), ra.Pending())
		}
	}
}

func chunkMsg(id string, start int, data []byte, flag byte, total string) *Message {
	return &Message{TID: "tid12345", Method: MethodSEND, Flag: flag, Body: data, Header: Header{
		{HeaderMessageID, id}, {HeaderByteRange, itoa(start) + "-*/" + total}, {HeaderContentType, "text/plain"}}}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestReassembleLimitsAndAbort(t *testing.T) {
	ra := NewReassembler(100)
	if _, _, err := ra.Add(chunkMsg("m1234567", 1, make([]byte, 10), FlagContinue, "1000")); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("declared total over the cap: %v", err)
	}
	if _, _, err := ra.Add(chunkMsg("m1234567", 95, make([]byte, 10), FlagContinue, "*")); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("bytes over the cap: %v", err)
	}
	if _, _, err := ra.Add(chunkMsg("m1234567", 1, make([]byte, 10), FlagContinue, "*")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ra.Add(chunkMsg("m1234567", 11, nil, FlagAbort, "*")); !errors.Is(err, ErrAborted) || ra.Pending() != 0 {
		t.Errorf("abort: %v, pending %d", err, ra.Pending())
	}
	whole := &Message{Method: MethodSEND, Body: []byte("hi"), Header: Header{{HeaderContentType, "text/plain"}}}
	if b, done, err := ra.Add(whole); !done || err != nil || &b[0] != &whole.Body[0] {
		t.Error("a whole message is returned without copying")
	}
	ra.MaxMessages = 2
	ra.Add(chunkMsg("aaaa1111", 1, []byte("x"), FlagContinue, "*"))
	ra.Add(chunkMsg("bbbb2222", 1, []byte("x"), FlagContinue, "*"))
	if _, _, err := ra.Add(chunkMsg("cccc3333", 1, []byte("x"), FlagContinue, "*")); !errors.Is(err, ErrTooManyMessages) {
		t.Errorf("too many: %v", err)
	}
	ra.Drop("aaaa1111")
	if ra.Pending() != 1 {
		t.Error("Drop")
	}
	if _, _, err := ra.Add(chunkMsg("bbbb2222", 1, []byte("xyz"), FlagContinue, "2")); err == nil {
		t.Error("chunk beyond the declared total accepted")
	}
}

// TestRFC7701ChunkedExample documents how RFC 7701 §9.5's buggy example is
// handled: its first chunk ends with "$" although Byte-Range 1-*/174 says
// more follows, so parley keeps waiting (the declared total wins over a "$"
// that would end the message short).
func TestRFC7701ChunkedExample(t *testing.T) {
	ra := NewReassembler(1 << 20)
	c1 := readOne(t, readGolden(t, "rfc7701/9.5-f1-chunk.msrp"))
	if _, done, err := ra.Add(c1); done || err != nil {
		t.Fatalf("first chunk: done %v err %v", done, err)
	}
	if ra.Pending() != 1 {
		t.Fatal("the first chunk was not kept")
	}
}

func TestRFC4975ChunkedExample(t *testing.T) {
	ra := NewReassembler(1 << 20)
	c1 := readOne(t, readGolden(t, "rfc4975/11.4-chunk1.msrp"))
	c2 := readOne(t, readGolden(t, "rfc4975/11.4-chunk2.msrp"))
	if _, done, err := ra.Add(c1); done || err != nil {
		t.Fatal(done, err)
	}
	b, done, err := ra.Add(c2)
	if !done || err != nil || len(b) != 147 || !bytes.HasSuffix(b, []byte("ABCD1234567890")) || !bytes.HasPrefix(b, []byte("To: Bob")) {
		t.Fatalf("got %q %v %v", b, done, err)
	}
}
