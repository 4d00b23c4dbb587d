package msrp

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// loopReader serves data over and over; data holds whole messages, so
// message boundaries line up across laps.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if l.off == len(l.data) {
		l.off = 0
	}
	n := copy(p, l.data[l.off:])
	l.off += n
	return n, nil
}

// parseFile parses the one message of a golden file.
func parseFile(b *testing.B, name string) *Message {
	b.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewReader(bytes.NewReader(raw), Limits{}).ReadMessage()
	if err != nil {
		b.Fatal(err)
	}
	return m.Clone()
}

func benchRead(b *testing.B, msgs [][]byte) {
	var stream []byte
	total := 0
	for len(stream) < 1<<20 {
		for _, m := range msgs {
			stream = append(stream, m...)
			total += len(m)
		}
	}
	per := int64(0)
	for _, m := range msgs {
		per += int64(len(m))
	}
	r := NewReader(&loopReader{data: stream}, Limits{MaxChunk: 128 << 10})
	b.SetBytes(per)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for range msgs {
			if _, err := r.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReadTypicalSend parses a 300-byte SEND. Target: ≤ 2 allocs/op.
func BenchmarkReadTypicalSend(b *testing.B) {
	benchRead(b, [][]byte{parseFile(b, "testdata/rfc7701/9.3-f1-send.msrp").Bytes()}) // 424 bytes
}

// BenchmarkRead64KChunked parses a 64 KiB message sent as 2048-octet chunks.
// Target: ≥ 500 MB/s.
func BenchmarkRead64KChunked(b *testing.B) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	var chunks [][]byte
	c := NewChunker(body, InterruptibleSize)
	for i := 0; ; i++ {
		r, data, flag, ok := c.Next()
		if !ok {
			break
		}
		m := &Message{TID: fmt.Sprintf("tid%05d", i), Method: MethodSEND, Flag: flag, Body: data, Header: Header{
			{HeaderToPath, tPathB}, {HeaderFromPath, tPathA}, {HeaderMessageID, "mid12345"},
			{HeaderByteRange, r.String()}, {HeaderContentType, "message/cpim"}}}
		chunks = append(chunks, m.Bytes())
	}
	benchRead(b, chunks)
}

// BenchmarkRead64KSingle parses a 64 KiB message in one interruptible chunk.
func BenchmarkRead64KSingle(b *testing.B) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	m := &Message{TID: "tid00001", Method: MethodSEND, Body: body, Header: Header{
		{HeaderToPath, tPathB}, {HeaderFromPath, tPathA}, {HeaderMessageID, "mid12345"},
		{HeaderByteRange, "1-*/65536"}, {HeaderContentType, "message/cpim"}}}
	benchRead(b, [][]byte{m.Bytes()})
}

// BenchmarkEnvelope frames one recipient's copy of a relayed SEND, as the
// switch does per recipient. Target: 0 allocs/op.
func BenchmarkEnvelope(b *testing.B) {
	e := Envelope{
		ToPath:        "msrp://client.biloxi.example.com:4923/49dufdje2;tcp",
		FromPath:      "msrp://chat.example.com:5678/jofofo3;tcp",
		MessageID:     "304sse2abcdefgh",
		FailureReport: "partial",
		ContentType:   "message/cpim",
	}
	var ids IDSource
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for range b.N {
		buf, _ = e.AppendFrame(buf[:0], &ids, ByteRange{1, 300, 300}, FlagEnd)
	}
}

// BenchmarkWriteMessage serializes a general Message (responses, REPORTs).
func BenchmarkWriteMessage(b *testing.B) {
	m := parseFile(b, "testdata/rfc4975/11.6-report.msrp")
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for range b.N {
		buf = m.AppendTo(buf[:0])
	}
}
