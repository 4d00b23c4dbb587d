package msrp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

const (
	tPathA = "msrp://a.example.com:7777/sessA;tcp"
	tPathB = "msrp://b.example.com:8888/sessB;tcp"
)

func sendWire(tid string, body []byte, flag byte) []byte {
	m := &Message{TID: tid, Method: MethodSEND, Flag: flag, Header: Header{
		{HeaderToPath, tPathB}, {HeaderFromPath, tPathA}, {HeaderMessageID, "msg12345"},
		{HeaderByteRange, fmt.Sprintf("1-%d/%d", len(body), len(body))}, {HeaderContentType, "text/plain"},
	}, Body: body}
	return m.Bytes()
}

// TestEveryChunkSize reads chunks of every size from 0 to the cap, each
// split across two reads at every position, and byte by byte.
func TestEveryChunkSize(t *testing.T) {
	const limit = 300
	lim := Limits{MaxChunk: limit}
	for size := 0; size <= limit; size++ {
		body := make([]byte, size)
		for i := range body {
			body[i] = "ab-\r\n$"[i%6] // CRs, LFs and dashes, to tempt the scanner
		}
		wire := append(sendWire("tid0001", body, '$'), sendWire("tid0002", []byte("next"), '$')...)
		step := 1
		if size > 40 {
			step = 13
		}
		for split := 0; split <= len(wire); split += step {
			got := collect(t, io.MultiReader(bytes.NewReader(wire[:split]), bytes.NewReader(wire[split:])), lim)
			checkTwo(t, got, body, fmt.Sprintf("size %d split %d", size, split))
		}
		checkTwo(t, collect(t, oneByteReader{bytes.NewReader(wire)}, lim), body, fmt.Sprintf("size %d byte by byte", size))
	}
}

func checkTwo(t *testing.T, got []result, body []byte, what string) {
	t.Helper()
	if len(got) != 2 || got[0].Err != "" || got[1].Err != "" {
		t.Fatalf("%s: got %+v", what, got)
	}
	if !bytes.Equal(got[0].Msg.Body, body) || string(got[1].Msg.Body) != "next" {
		t.Fatalf("%s: bodies %q, %q", what, got[0].Msg.Body, got[1].Msg.Body)
	}
}

// TestChunkTooLarge: a body over the cap is skipped to its end-line and
// reported with its headers, and the next message is read normally, however
// the input is split.
func TestChunkTooLarge(t *testing.T) {
	const limit = 100
	for _, size := range []int{limit + 1, limit + 50, 5000} {
		body := bytes.Repeat([]byte("x-\r\n"), size/4+1)[:size]
		wire := append(sendWire("bigtid1", body, '+'), sendWire("tid0002", []byte("next"), '$')...)
		for split := 0; split <= len(wire); split += 17 {
			got := collect(t, io.MultiReader(bytes.NewReader(wire[:split]), bytes.NewReader(wire[split:])), Limits{MaxChunk: limit})
			if len(got) != 2 || got[0].Err != ErrChunkTooLarge.Error() || got[1].Err != "" {
				t.Fatalf("size %d split %d: got %+v", size, split, got)
			}
			if m := got[0].Msg; m.TID != "bigtid1" || m.Flag != '+' || m.MessageID() != "msg12345" || m.Body != nil {
				t.Fatalf("size %d: oversized message reported as %+v", size, m)
			}
			if string(got[1].Msg.Body) != "next" {
				t.Fatalf("size %d: next body %q", size, got[1].Msg.Body)
			}
		}
	}
}

func TestReaderErrors(t *testing.T) {
	ok := string(sendWire("goodtid1", []byte("fine"), '$'))
	cases := []struct {
		name  string
		input string
		lim   Limits
		want  func(error) bool // for the first ReadMessage
		next  bool             // the following message "fine" must still be readable
	}{
		{"not MSRP", "HTTP/1.1 200 OK\r\n\r\n", Limits{}, isSyntax, false},
		{"lower-case msrp", "msrp abcd SEND\r\n", Limits{}, isSyntax, false},
		{"short tid", "MSRP abc SEND\r\n", Limits{}, isSyntax, false},
		{"bad tid char", "MSRP ab_cd SEND\r\n", Limits{}, isSyntax, false},
		{"long tid", "MSRP " + strings.Repeat("a", 33) + " SEND\r\n", Limits{}, isSyntax, false},
		{"lower-case method", "MSRP abcd send\r\n", Limits{}, isSyntax, false},
		{"no method", "MSRP abcd \r\n", Limits{}, isSyntax, false},
		{"two-digit code", "MSRP abcd 20 OK\r\n", Limits{}, isSyntax, false},
		{"four-digit code", "MSRP abcd 2000\r\n", Limits{}, isSyntax, false},
		{"code 000 (found by FuzzReader)", "MSRP abcd 000 x\r\n", Limits{}, isSyntax, false},
		{"bare LF start line", "MSRP abcd SEND\n", Limits{}, isSyntax, false},
		{"start line too long", "MSRP abcd SEND" + strings.Repeat("X", 100), Limits{MaxStartLine: 50}, is(ErrStartLineTooLong), false},
		{"headers too large", "MSRP abcd SEND\r\nTo-Path: " + strings.Repeat("x", 200) + "\r\n", Limits{MaxHeaderBytes: 100}, is(ErrHeaderTooLarge), false},
		{"endless header line", "MSRP abcd SEND\r\nTo-Path: " + strings.Repeat("x", 200), Limits{MaxHeaderBytes: 100}, is(ErrHeaderTooLarge), false},
		{"end-line junk", "MSRP abcd SEND\r\nTo-Path: x\r\nContent-Type: a/b\r\n\r\nbody\r\n-------abcd$junk\r\n", Limits{}, isSyntax, false},
		{"eof in headers", "MSRP abcd SEND\r\nTo-Path: x\r\n", Limits{}, is(io.ErrUnexpectedEOF), false},
		{"eof in body", "MSRP abcd SEND\r\nContent-Type: a/b\r\n\r\nbo", Limits{}, is(io.ErrUnexpectedEOF), false},
		{"eof in start line", "MSRP ab", Limits{}, is(io.ErrUnexpectedEOF), false},
		{"header without colon", "MSRP abcd SEND\r\nTo-Path x\r\n-------abcd$\r\n", Limits{}, isHeaderErr, true},
		{"header bad name", "MSRP abcd SEND\r\n1To: x\r\n-------abcd$\r\n", Limits{}, isHeaderErr, true},
		{"control char in value", "MSRP abcd SEND\r\nTo-Path: a\x01b\r\n-------abcd$\r\n", Limits{}, isHeaderErr, true},
		{"invalid UTF-8", "MSRP abcd SEND\r\nX-A: \xff\xfe\r\n-------abcd$\r\n", Limits{}, isHeaderErr, true},
		{"body without content-type", "MSRP abcd SEND\r\nTo-Path: x\r\n\r\nbody\r\n-------abcd$\r\n", Limits{}, isHeaderErr, true},
		{"content-type without body", "MSRP abcd SEND\r\nContent-Type: a/b\r\n-------abcd$\r\n", Limits{}, isHeaderErr, true},
		{"response with body", "MSRP abcd 200 OK\r\nContent-Type: a/b\r\n\r\nx\r\n-------abcd$\r\n", Limits{}, isHeaderErr, true},
		{"response with + flag", "MSRP abcd 200 OK\r\nTo-Path: x\r\n-------abcd+\r\n", Limits{}, isHeaderErr, true},
		{"bare LF header line", "MSRP abcd SEND\r\nTo-Path: x\nFrom-Path: y\r\n-------abcd$\r\n", Limits{}, isHeaderErr, true},
		{"invalid UTF-8 in start line comment", "MSRP abcd 200 \xff\r\nTo-Path: x\r\n-------abcd$\r\n", Limits{}, isHeaderErr, true},
		{"invalid UTF-8 next to a Use-Nickname", "MSRP abcd NICKNAME\r\nUse-Nickname: \"\xff\"\r\nX-A: \xfe\r\n-------abcd$\r\n", Limits{}, isHeaderErr, true},

		// Lost framing: an end-line that cannot end this message.
		{"bodiless, other tid's end-line", "MSRP abcd SEND\r\nTo-Path: x\r\n-------wxyz$\r\n", Limits{}, isMismatch, false},
		{"bodiless, bad flag", "MSRP abcd SEND\r\nTo-Path: x\r\n-------abcdX\r\n", Limits{}, isMismatch, false},
		{"bodiless, no flag", "MSRP abcd SEND\r\nTo-Path: x\r\n-------abcd\r\n", Limits{}, isMismatch, false},
		{"bodiless, end-line not followed by CRLF", "MSRP abcd SEND\r\nTo-Path: x\r\n-------abcd$x\r\n", Limits{}, isPlainSyntax, false},
		{"response, other tid's end-line", "MSRP abcd 200 OK\r\nTo-Path: x\r\n-------wxyz+\r\n", Limits{}, isMismatch, false},
		{"body, bad flag", "MSRP abcd SEND\r\nContent-Type: a/b\r\n\r\nbody\r\n-------abcdX\r\n", Limits{}, isMismatch, false},
		{"body, bad flag at EOF", "MSRP abcd SEND\r\nContent-Type: a/b\r\n\r\nbody\r\n-------abcd!", Limits{}, isMismatch, false},
		{"oversized body, bad flag", "MSRP abcd SEND\r\nContent-Type: a/b\r\n\r\n" + strings.Repeat("b", 200) + "\r\n-------abcd-\r\n", Limits{MaxChunk: 100}, isMismatch, false},
		{"other tid where Byte-Range ends the body", "MSRP abcd SEND\r\nByte-Range: 1-4/4\r\nContent-Type: a/b\r\n\r\nbody\r\n-------wxyz$\r\n", Limits{}, isMismatch, false},
		{"other tid where Byte-Range (lower case, 2nd chunk) ends the body", "MSRP abcd SEND\r\nbyte-range:  11-14/*\r\nContent-Type: a/b\r\n\r\nbody\r\n-------wxyz#\r\nmore", Limits{}, isMismatch, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			input := tc.input
			if tc.next {
				input += ok
			}
			r := NewReader(strings.NewReader(input), tc.lim)
			_, err := r.ReadMessage()
			if !tc.want(err) {
				t.Fatalf("got %v (%T)", err, err)
			}
			m, err2 := r.ReadMessage()
			if tc.next {
				if err2 != nil || string(m.Body) != "fine" {
					t.Fatalf("next message: %v %v", m, err2)
				}
			} else if err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("fatal error not sticky: first %v, then %v", err, err2)
			}
		})
	}
}

func isSyntax(err error) bool { var se *SyntaxError; return errors.As(err, &se) }

func isMismatch(err error) bool { return isSyntax(err) && errors.Is(err, ErrEndLineMismatch) }

func isPlainSyntax(err error) bool { return isSyntax(err) && !errors.Is(err, ErrEndLineMismatch) }

func isHeaderErr(err error) bool {
	var me *MessageError
	var he *HeaderError
	return errors.As(err, &me) && errors.As(err, &he) && me.Msg != nil && me.Msg.TID != ""
}

func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

func TestSyntaxErrorOffset(t *testing.T) {
	good := sendWire("goodtid1", []byte("fine"), '$')
	r := NewReader(bytes.NewReader(append(good, "GARBAGE\r\n"...)), Limits{})
	if _, err := r.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	_, err := r.ReadMessage()
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != int64(len(good)) {
		t.Fatalf("got %v, want a SyntaxError at offset %d", err, len(good))
	}
}

// A Reader that replaces another between messages (NewReaderAt, from its
// Offset) reports offsets from the start of the stream.
func TestReaderAtOffset(t *testing.T) {
	good := sendWire("goodtid1", []byte("fine"), '$')
	first := NewReader(bytes.NewReader(good), Limits{})
	if _, err := first.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if first.Offset() != int64(len(good)) {
		t.Fatalf("Offset = %d after one message, want %d", first.Offset(), len(good))
	}
	r := NewReaderAt(bytes.NewReader(append(good, "GARBAGE\r\n"...)), Limits{}, first.Offset())
	if _, err := r.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	_, err := r.ReadMessage()
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != int64(2*len(good)) {
		t.Fatalf("got %v, want a SyntaxError at offset %d", err, 2*len(good))
	}
}

// TestBodyLooksLikeEndLine: a different tid's end-line inside a body is
// body text, as is a prefix of the message's own end-line; but
// "CRLF -------<tid>" followed by anything but a flag means that framing is
// lost (ErrEndLineMismatch), as does another tid's end-line exactly where a
// numeric Byte-Range range-end ends the body.
func TestBodyLooksLikeEndLine(t *testing.T) {
	body := "a\r\n-------othertid$\r\n-------tid0000\r\nx-------tid00001x\r\nz"
	got := collect(t, strings.NewReader(string(sendWire("tid00001", []byte(body), '$'))), Limits{})
	if len(got) != 1 || got[0].Err != "" || string(got[0].Msg.Body) != body {
		t.Fatalf("got %+v", got)
	}

	bad := "a\r\n-------tid00001x\r\nz"
	r := NewReader(bytes.NewReader(sendWire("tid00001", []byte(bad), '$')), Limits{})
	if _, err := r.ReadMessage(); !isMismatch(err) {
		t.Fatalf("bad flag in body: got %v, want ErrEndLineMismatch", err)
	}

	// The declared range 1-4 ends the body before "-------othertid$": the
	// chunk was meant to end there, under the wrong transaction id. With
	// range-end "*" (interruptible) the same bytes are body text, as they
	// are when what stands there is not end-line-shaped.
	const wrongEnd = "body\r\n-------othertid$\r\nmore"
	for _, tc := range []struct {
		br       string
		mismatch bool
	}{
		{"1-4/30", true}, {"1-*/30", false}, {"1-5/30", false}, {"1-3/30", false}, {"7-10/*", true},
	} {
		m := &Message{TID: "tid00001", Method: MethodSEND, Flag: '$', Header: Header{
			{HeaderToPath, tPathB}, {HeaderFromPath, tPathA}, {HeaderMessageID, "msg12345"},
			{HeaderByteRange, tc.br}, {HeaderContentType, "text/plain"},
		}, Body: []byte(wrongEnd)}
		got := collect(t, bytes.NewReader(m.Bytes()), Limits{})
		switch {
		case tc.mismatch && (len(got) != 1 || !strings.Contains(got[0].Err, "where Byte-Range ends")):
			t.Errorf("Byte-Range %s: got %+v, want the declared-end mismatch", tc.br, got)
		case !tc.mismatch && (len(got) != 1 || got[0].Err != "" || string(got[0].Msg.Body) != wrongEnd):
			t.Errorf("Byte-Range %s: got %+v, want the whole body", tc.br, got)
		}
	}
}

// TestUseNicknameValueReachesParser: control characters and invalid UTF-8
// in Use-Nickname pass the Reader, so that ParseUseNickname can report
// ErrMalformedNickname (RFC 7701 §7.1: 424); in other headers they stay a
// *HeaderError (400).
func TestUseNicknameValueReachesParser(t *testing.T) {
	for _, v := range []string{"\"al\x01ice\"", "al\x00ice", "\"\xff\xfe\"", "bob\x7f", "\"a\rb\"", "\"\x1b[31mred\""} {
		in := "MSRP abcd NICKNAME\r\nTo-Path: " + tPathB + "\r\nFrom-Path: " + tPathA + "\r\nuse-nickname: " + v + "\r\n-------abcd$\r\n"
		r := NewReader(strings.NewReader(in), Limits{})
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatalf("%q: Reader: %v", v, err)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("%q: Validate: %v", v, err)
		}
		if _, ok, err := m.Nickname(); !ok || !errors.Is(err, ErrMalformedNickname) {
			t.Errorf("%q: Nickname() = %v, %v; want ErrMalformedNickname", v, ok, err)
		}
	}
}

func TestEmptyAndBodilessAreDistinct(t *testing.T) {
	empty := "MSRP tid00001 SEND\r\nTo-Path: " + tPathB + "\r\nFrom-Path: " + tPathA + "\r\nMessage-ID: m1234\r\nByte-Range: 1-0/0\r\nContent-Type: text/plain\r\n\r\n\r\n-------tid00001$\r\n"
	bodiless := "MSRP tid00002 SEND\r\nTo-Path: " + tPathB + "\r\nFrom-Path: " + tPathA + "\r\n-------tid00002$\r\n"
	got := collect(t, strings.NewReader(empty+bodiless), Limits{})
	if len(got) != 2 || got[0].Err != "" || got[1].Err != "" {
		t.Fatalf("got %+v", got)
	}
	if m := got[0].Msg; !m.HasBody() || m.Body == nil || len(m.Body) != 0 {
		t.Errorf("empty body: HasBody %v Body %q", m.HasBody(), m.Body)
	}
	if m := got[1].Msg; m.HasBody() || m.Body != nil {
		t.Errorf("bodiless: HasBody %v Body %q", m.HasBody(), m.Body)
	}
	for i, s := range []string{empty, bodiless} {
		if out := string(got[i].Msg.Bytes()); out != s {
			t.Errorf("round trip %d:\n got %q\nwant %q", i, out, s)
		}
	}
}

// flakyReader fails with a timeout-like error every other call.
type flakyReader struct {
	r    io.Reader
	fail bool
}

var errTimeout = errors.New("i/o timeout")

func (f *flakyReader) Read(p []byte) (int, error) {
	f.fail = !f.fail
	if f.fail {
		return 0, errTimeout
	}
	return f.r.Read(p[:min(len(p), 3)])
}

// TestResumeAfterTransientError: a source error is returned as is, and the
// next ReadMessage call resumes where parsing stopped.
func TestResumeAfterTransientError(t *testing.T) {
	var stream []byte
	for _, tc := range goldenCases[:6] {
		stream = append(stream, readGolden(t, tc.file)...)
	}
	want := collect(t, bytes.NewReader(stream), Limits{})
	r := NewReader(&flakyReader{r: bytes.NewReader(stream)}, Limits{})
	var got []result
	timeouts := 0
	for len(got) < len(want) && timeouts < 100000 {
		m, err := r.ReadMessage()
		switch {
		case errors.Is(err, errTimeout):
			timeouts++
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		default:
			got = append(got, result{Msg: m.Clone()})
		}
	}
	if timeouts == 0 || len(got) != len(want) {
		t.Fatalf("got %d messages after %d timeouts", len(got), timeouts)
	}
	for i := range want {
		if string(got[i].Msg.Bytes()) != string(want[i].Msg.Bytes()) {
			t.Fatalf("message %d differs", i)
		}
	}
}

// TestBufferStaysBounded: pipelined messages never grow the buffer beyond
// what one message needs.
func TestBufferStaysBounded(t *testing.T) {
	var stream []byte
	for i := range 2000 {
		stream = append(stream, sendWire(fmt.Sprintf("tid%05d", i), bytes.Repeat([]byte("z"), i%500), '$')...)
	}
	r := NewReader(bytes.NewReader(stream), Limits{MaxChunk: 1000})
	n := 0
	for {
		_, err := r.ReadMessage()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2000 || len(r.buf) > 4096 {
		t.Fatalf("read %d messages, buffer grew to %d", n, len(r.buf))
	}
}
