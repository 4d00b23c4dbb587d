package main

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/parley-im/parley/msrp"
)

// TestSeqTracker feeds sabotaged sequences to the per-sender checker.
func TestSeqTracker(t *testing.T) {
	for _, c := range []struct {
		name                      string
		seqs                      []uint64
		sent                      uint64
		lost, dup, reordered, got uint64
	}{
		{"in order", []uint64{1, 2, 3, 4, 5}, 5, 0, 0, 0, 5},
		{"duplicate", []uint64{1, 2, 2, 3, 4, 5}, 5, 0, 1, 0, 5},
		{"duplicate of an old one", []uint64{1, 2, 3, 4, 5, 1}, 5, 0, 1, 0, 5},
		{"gap", []uint64{1, 2, 4, 5}, 5, 1, 0, 0, 4},
		{"tail lost", []uint64{1, 2, 3}, 5, 2, 0, 0, 3},
		{"nothing", nil, 5, 5, 0, 0, 0},
		{"swap", []uint64{1, 3, 2, 4, 5}, 5, 0, 0, 1, 5},
		{"late by several", []uint64{2, 3, 4, 5, 1}, 5, 0, 0, 1, 5},
		{"fill a gap from the middle", []uint64{1, 6, 3, 2, 5, 4}, 6, 0, 0, 4, 6},
		{"reordered then duplicated", []uint64{1, 3, 2, 2, 3}, 3, 0, 2, 1, 3},
		{"gap, reorder and duplicate", []uint64{1, 4, 2, 4, 6}, 6, 2, 1, 1, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := newSeqTracker()
			for _, s := range c.seqs {
				tr.add(s)
			}
			if got := tr.lost(c.sent); got != c.lost {
				t.Errorf("lost %d, want %d", got, c.lost)
			}
			if tr.dup != c.dup || tr.reordered != c.reordered || tr.received != c.got {
				t.Errorf("dup %d reordered %d received %d, want %d %d %d", tr.dup, tr.reordered, tr.received, c.dup, c.reordered, c.got)
			}
		})
	}
}

func TestHist(t *testing.T) {
	var h hist
	for v := int64(1); v <= 10000; v++ {
		h.add(v * 1000) // 1 µs .. 10 ms
	}
	for _, c := range []struct {
		q    float64
		want int64
	}{{0.5, 5_000_000}, {0.9, 9_000_000}, {0.99, 9_900_000}, {1, 10_000_000}} {
		got := h.quantile(c.q)
		if d := float64(got-c.want) / float64(c.want); d > 0.04 || d < -0.04 {
			t.Errorf("q%v = %d, want %d ± 4 %%", c.q, got, c.want)
		}
	}
	for i := range histBuckets - 64 { // the last ones overflow int64
		if histLow(i) >= histLow(i+1) || histIndex(histLow(i)) != i {
			t.Fatalf("bucket %d: low %d, next %d, index of low %d", i, histLow(i), histLow(i+1), histIndex(histLow(i)))
		}
	}
}

// stream builds what a receiver gets: copies from the switch, notices, a
// response, a chunked message, split at arbitrary points by the reader.
func stream(t *testing.T, n int) ([]byte, int) {
	var b bytes.Buffer
	var ids msrp.IDSource
	p := &participant{from: "sip:a@x", roomURI: "sip:room@127.0.0.1", toPath: "msrp://127.0.0.1:2855/abc;tcp",
		local: msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: "def", Transport: "tcp"}}
	s := newSender(p, 7, 2, 300)
	marked := 0
	for i := 1; i <= n; i++ {
		switch i % 5 {
		case 0: // a notice, with '$' in its body
			m := &msrp.Message{TID: ids.TID(), Method: "SEND", Body: []byte("From: <sip:room@x>\r\n\r\nContent-Type: text/plain\r\n\r\nbob joined $$ -------"),
				Header: msrp.Header{{Name: "To-Path", Value: "msrp://a:9/b;tcp"}, {Name: "From-Path", Value: "msrp://c:1/d;tcp"}, {Name: "Content-Type", Value: "message/cpim"}}}
			b.Write(m.Bytes())
		case 1: // a response
			m := &msrp.Message{TID: ids.TID(), Code: 200, Comment: "OK", Header: msrp.Header{{Name: "To-Path", Value: "msrp://a:9/b;tcp"}, {Name: "From-Path", Value: "msrp://c:1/d;tcp"}}}
			b.Write(m.Bytes())
		case 2: // a chunk to be continued
			m := &msrp.Message{TID: ids.TID(), Method: "SEND", Flag: '+', Body: bytes.Repeat([]byte("x"), 3000),
				Header: msrp.Header{{Name: "To-Path", Value: "msrp://a:9/b;tcp"}, {Name: "From-Path", Value: "msrp://c:1/d;tcp"}, {Name: "Content-Type", Value: "message/cpim"}}}
			b.Write(m.Bytes())
		default:
			marked++
			for _, at := range [...]int{s.tidAt, s.tid2At, s.midAt, s.seqAt} {
				putDec(s.raw[at:at+10], uint64(marked))
			}
			putHex(s.raw[s.tsAt:s.tsAt+16], uint64(marked)*1000)
			b.Write(s.raw)
		}
	}
	if _, err := msrp.NewReader(bytes.NewReader(b.Bytes()), msrp.Limits{}).ReadMessage(); err != nil {
		t.Fatalf("the stream does not parse: %v", err)
	}
	return b.Bytes(), marked
}

// choppy returns at most the next step octets per Read, step varying.
type choppy struct {
	data []byte
	step int
}

func (c *choppy) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.step = c.step*7%613 + 1
	n := copy(p[:min(len(p), c.step)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func TestFrameReader(t *testing.T) {
	data, marked := stream(t, 500)
	for _, size := range []int{64, 1024, 64 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			fr := newFrameReader(&choppy{data: data}, size)
			var frames, responses, got int
			tr := newSeqTracker()
			for {
				f, err := fr.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				frames++
				if !f.request {
					responses++
					if f.code != 200 {
						t.Errorf("code %d", f.code)
					}
					continue
				}
				room, snd, seq, ts, ok := parseMarker(f.tail(markerLen))
				if !ok {
					continue
				}
				if room != 7 || snd != 2 || ts != seq*1000 || f.flag != '$' || string(f.method) != "SEND" {
					t.Fatalf("marker room %d sender %d seq %d ts %d flag %c method %s", room, snd, seq, ts, f.flag, f.method)
				}
				tr.add(seq)
				got++
			}
			if frames != 500 || responses != 100 || got != marked || tr.received != uint64(marked) || tr.dup+tr.reordered != 0 {
				t.Errorf("frames %d responses %d marked %d (tracker %+v), want 500 100 %d", frames, responses, got, tr, marked)
			}
		})
	}
}

func TestParseMarker(t *testing.T) {
	good := []byte("pb:000012:000003:0000000042:00000000000003e8")
	r, s, q, ts, ok := parseMarker(good)
	if !ok || r != 12 || s != 3 || q != 42 || ts != 1000 {
		t.Errorf("parseMarker = %d %d %d %d %v", r, s, q, ts, ok)
	}
	for _, bad := range []string{"", "pb:000012:000003:0000000042:00000000000003e", "xb:000012:000003:0000000042:00000000000003e8",
		"pb:0000x2:000003:0000000042:00000000000003e8", "pb:000012:000003:0000000042:00000000000003E8"} {
		if _, _, _, _, ok := parseMarker([]byte(bad)); ok {
			t.Errorf("parseMarker(%q) accepted", bad)
		}
	}
}

// BenchmarkFrameReader measures the receiver's cost per copy, against
// msrp.Reader parsing the same stream.
func BenchmarkFrameReader(b *testing.B) {
	p := &participant{from: "sip:a@x", roomURI: "sip:room@127.0.0.1", toPath: "msrp://127.0.0.1:2855/abc;tcp",
		local: msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: "def", Transport: "tcp"}}
	s := newSender(p, 0, 1, 200)
	var one bytes.Buffer
	for i := range 1024 {
		putDec(s.raw[s.seqAt:s.seqAt+10], uint64(i+1))
		one.Write(s.raw)
	}
	data := one.Bytes()
	b.Run("frameReader", func(b *testing.B) {
		b.SetBytes(int64(len(s.raw)))
		b.ReportAllocs()
		src := &loop{data: data}
		fr := newFrameReader(src, 64<<10)
		epoch := time.Now()
		var h hist
		for b.Loop() {
			f, err := fr.next()
			if err != nil {
				b.Fatal(err)
			}
			_, _, _, ts, _ := parseMarker(f.tail(markerLen))
			h.add(int64(fr.readAt.Sub(epoch)) - int64(ts))
		}
	})
	b.Run("msrp.Reader", func(b *testing.B) {
		b.SetBytes(int64(len(s.raw)))
		b.ReportAllocs()
		r := msrp.NewReader(&loop{data: data}, msrp.Limits{})
		for b.Loop() {
			m, err := r.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			parseMarker(m.Body[len(m.Body)-markerLen:])
		}
	})
}

// loop serves data again and again, 64 KiB at most per Read.
type loop struct {
	data []byte
	off  int
}

func (l *loop) Read(p []byte) (int, error) {
	p = p[:min(len(p), 64<<10)]
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.off:])
		n += c
		l.off = (l.off + c) % len(l.data)
	}
	return n, nil
}
