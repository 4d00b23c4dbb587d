package msrp

import (
	"bytes"
	"io"
	"math"
	"testing"
)

// A Reader between messages gives up its buffer, and reads on from a
// buffer the caller supplies holding input it already read.
func TestReleaseBuffer(t *testing.T) {
	one, two := sendWire("tid0001", []byte("one"), '$'), sendWire("tid0002", []byte("two"), '$')
	src := bytes.NewReader(nil)
	r := NewReader(src, Limits{})
	if r.BufferSize() != 0 || r.ReleaseBuffer() != nil {
		t.Fatal("a new Reader has a buffer")
	}

	// The caller read the first message and half the second itself.
	half := len(one) + len(two)/2
	b := make([]byte, 0, 512)
	b = append(b, one...)
	b = append(b, two[:len(two)/2]...)
	r.SetBuffer(b[:half])
	src.Reset(two[len(two)/2:])
	m, err := r.ReadMessage()
	if err != nil || m.TID != "tid0001" || string(m.Body) != "one" {
		t.Fatalf("first: %v %+v", err, m)
	}
	if r.ReleaseBuffer() != nil {
		t.Fatal("released a buffer holding unread input")
	}
	m, err = r.ReadMessage()
	if err != nil || m.TID != "tid0002" || string(m.Body) != "two" {
		t.Fatalf("second: %v %+v", err, m)
	}
	got := r.ReleaseBuffer()
	if cap(got) != 512 || r.BufferSize() != 0 {
		t.Fatalf("released cap %d, size after %d", cap(got), r.BufferSize())
	}
	if len(r.msg.Header) != 0 || r.msg.TID != "" {
		t.Fatal("the last message's strings are still referenced")
	}

	// Without SetBuffer the next read allocates; syntax error offsets
	// still count from the start of the stream.
	src.Reset(one)
	if m, err = r.ReadMessage(); err != nil || m.TID != "tid0001" {
		t.Fatalf("third: %v", err)
	}
	src.Reset([]byte("XMSRP x\r\n"))
	r = NewReader(io.MultiReader(bytes.NewReader(one), src), Limits{})
	if _, err := r.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	r.ReleaseBuffer()
	_, err = r.ReadMessage()
	se, ok := err.(*SyntaxError)
	if !ok || se.Offset != int64(len(one)) {
		t.Fatalf("syntax error after release: %v", err)
	}
	if r.ReleaseBuffer() != nil {
		t.Fatal("released after a fatal error")
	}
}

// AppendFrame never writes more than FrameSize, so a buffer of that
// capacity is allocated once.
func TestFrameSize(t *testing.T) {
	var ids IDSource
	for _, e := range []Envelope{
		{ToPath: tPathB, FromPath: tPathA},
		{ToPath: tPathB, FromPath: tPathA, MessageID: "m1", SuccessReport: "yes", FailureReport: "partial",
			ContentType: "message/cpim", Extra: Header{{"X-A", "b"}}, TIDPrefix: "k123456789."},
	} {
		for _, br := range []ByteRange{{1, 0, 0}, {math.MaxInt64 - 1, math.MaxInt64, Unknown}, {-1, -1, math.MinInt64}} {
			buf := make([]byte, 0, e.FrameSize())
			out, _ := e.AppendFrame(buf, &ids, br, FlagAbort)
			if len(out) > e.FrameSize() || &out[0] != &buf[:1][0] {
				t.Errorf("%+v %v: %d octets, FrameSize %d", e, br, len(out), e.FrameSize())
			}
		}
	}
}

// SizeBound bounds what AppendTo writes, so that a buffer of that
// capacity is the one allocation serialising a message costs.
func TestSizeBound(t *testing.T) {
	req := &Message{TID: "a1b2c3d4", Method: MethodSEND, Header: Header{
		{HeaderToPath, "msrp://192.0.2.1:2855/abc;tcp msrp://192.0.2.2:2855/def;tcp"},
		{HeaderFromPath, "msrp://192.0.2.3:2855/ghi;tcp"},
		{HeaderMessageID, "m-1"},
		{HeaderByteRange, "1-5/5"},
		{HeaderContentType, "text/plain"},
	}, Body: []byte("hello"), Flag: FlagEnd}
	for _, m := range []*Message{
		req,
		req.Response(StatusOK, ""),
		req.Response(StatusForbidden, "Sending too fast"),
		req.Report("r9", StatusOK, "", ByteRange{Start: 1, End: 5, Total: 5}),
		{TID: "x", Method: MethodSEND, Flag: FlagEnd},
	} {
		if n, b := len(m.AppendTo(nil)), m.SizeBound(); n > b {
			t.Fatalf("%s %s: %d octets, bound %d", m.TID, m.Method, n, b)
		}
		if a := testing.AllocsPerRun(10, func() { _ = m.AppendTo(make([]byte, 0, m.SizeBound())) }); a > 1 {
			t.Fatalf("%s %s: %v allocations with the bound, want 1", m.TID, m.Method, a)
		}
	}
}
