package msrp

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// goldenCase describes what one RFC example must parse to. Where SPEC §14
// item 10 lists an example bug, note says how parley treats it.
type goldenCase struct {
	file     string
	method   string
	code     int
	tid      string
	body     string // "-" for bodiless
	flag     byte
	validErr string // header Validate must name ("" = valid)
	note     string
}

var goldenCases = []goldenCase{
	{file: "rfc4975/11.1-f4-send.msrp", method: "SEND", tid: "d93kswow", body: "Hi, I'm Alice!", flag: '$',
		note: "Byte-Range says 1-16/16 but the body is 14 octets: the receiver goes by the body (RFC 4975 §7.3.1)"},
	{file: "rfc4975/11.1-f5-200.msrp", code: 200, tid: "d93kswow", body: "-", flag: '$'},
	{file: "rfc4975/11.1-f6-send.msrp", method: "SEND", tid: "dkei38sd", body: "Hi, Alice!  I'm Bob!", flag: '$'},
	{file: "rfc4975/11.1-f7-200.msrp", code: 200, tid: "dkei38sd", body: "-", flag: '$'},
	{file: "rfc4975/11.2-xhtml.msrp", method: "SEND", tid: "dsdfoe38sd", flag: '$'},
	{file: "rfc4975/11.4-chunk1.msrp", method: "SEND", tid: "d93kswow", flag: '+'},
	{file: "rfc4975/11.4-chunk2.msrp", method: "SEND", tid: "op2nc9a", body: "1234567890", flag: '$'},
	{file: "rfc4975/11.5-system.msrp", method: "SEND", tid: "d93kswow", body: "This conference will end in 5 minutes", flag: '$'},
	{file: "rfc4975/11.6-send.msrp", method: "SEND", tid: "d93kswow", flag: '$'},
	{file: "rfc4975/11.6-report.msrp", method: "REPORT", tid: "dkei38sd", body: "-", flag: '$'},
	{file: "rfc4975/5.1-chunk1.msrp", method: "SEND", tid: "dkei38sd", body: "abcd", flag: '+', validErr: HeaderToPath,
		note: "the RFC abbreviates Figure 3 without To-Path/From-Path: framing is fine, Validate rejects it (400)"},
	{file: "rfc4975/5.1-chunk2.msrp", method: "SEND", tid: "dkei38ia", body: "EFGH", flag: '$', validErr: HeaderToPath},
	{file: "rfc7701/9.2-f1-nickname.msrp", method: "NICKNAME", tid: "d93kswow", body: "-", flag: '$'},
	{file: "rfc7701/9.2-f2-425.msrp", code: 425, tid: "d93kswow", body: "-", flag: '$'},
	{file: "rfc7701/9.2-f3-nickname.msrp", method: "NICKNAME", tid: "09swk2d", body: "-", flag: '$'},
	{file: "rfc7701/9.2-f4-200.msrp", code: 200, tid: "09swk2d", body: "-", flag: '$'},
	{file: "rfc7701/9.3-f1-send.msrp", method: "SEND", tid: "3490visdm", flag: '$'},
	{file: "rfc7701/9.3-f2-200.msrp", code: 200, tid: "3490visdm", body: "-", flag: '$',
		note: "responses may carry Message-ID: an unknown-to-responses header is kept"},
	{file: "rfc7701/9.3-f3-send.msrp", method: "SEND", tid: "490ej23", flag: '$'},
	{file: "rfc7701/9.4-f1-send.msrp", method: "SEND", tid: "6959ssdf", flag: '$'},
	{file: "rfc7701/9.4-f2-200.msrp", code: 200, tid: "6959ssdfm", body: "-", flag: '$',
		note: "RFC typo: tid 6959ssdfm does not match the request's 6959ssdf; the frame itself is consistent and parses, a client would not match it to its transaction"},
	{file: "rfc7701/9.4-f3-send.msrp", method: "SEND", tid: "9v9s2", flag: '$'},
	{file: "rfc7701/9.4-f4-200.msrp", code: 200, tid: "9v9s2", body: "-", flag: '$'},
	{file: "rfc7701/9.5-f1-chunk.msrp", method: "SEND", tid: "7443ruls", flag: '$',
		note: "RFC bug: first chunk ends with $ although Byte-Range 1-*/174 says more follows; see TestRFC7701ChunkedExample for how the Reassembler copes"},
	{file: "rfc7701/9.5-f2-chunk.msrp", method: "SEND", tid: "7443ruls", flag: '$',
		note: "RFC bug: reuses the first chunk's tid (each chunk is a new transaction); parsing is per frame, so it is accepted"},
}

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("\r\n")) {
		t.Fatalf("%s lost its CRLF line endings", name)
	}
	return b
}

// readOne parses exactly one message from b and checks nothing follows.
func readOne(t *testing.T, b []byte) *Message {
	t.Helper()
	r := NewReader(bytes.NewReader(b), Limits{})
	m, err := r.ReadMessage()
	if err != nil {
		t.Fatalf("ReadMessage: %v", err)
	}
	m = m.Clone()
	if _, err := r.ReadMessage(); err != io.EOF {
		t.Fatalf("after the message: got %v, want io.EOF", err)
	}
	return m
}

func TestGoldenRFCExamples(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.file, func(t *testing.T) {
			wire := readGolden(t, tc.file)
			m := readOne(t, wire)
			if m.Method != tc.method || m.Code != tc.code || m.TID != tc.tid || m.Flag != tc.flag {
				t.Errorf("got method %q code %d tid %q flag %q, want %q %d %q %q",
					m.Method, m.Code, m.TID, m.Flag, tc.method, tc.code, tc.tid, tc.flag)
			}
			switch tc.body {
			case "-":
				if m.HasBody() || m.Body != nil {
					t.Errorf("want a bodiless message, got body %q", m.Body)
				}
			case "":
				if !m.HasBody() || len(m.Body) == 0 {
					t.Errorf("want a body")
				}
			default:
				if string(m.Body) != tc.body {
					t.Errorf("body %q, want %q", m.Body, tc.body)
				}
			}
			err := m.Validate()
			var he *HeaderError
			switch {
			case tc.validErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.validErr != "" && (!errors.As(err, &he) || he.Header != tc.validErr):
				t.Errorf("Validate: got %v, want a HeaderError about %s", err, tc.validErr)
			}

			// parse → serialize gives the RFC bytes back, and parses again to the same message
			out := m.Bytes()
			if !bytes.Equal(out, wire) {
				t.Errorf("serialized form differs from the RFC text:\n got %q\nwant %q", out, wire)
			}
			again := readOne(t, out)
			if !reflect.DeepEqual(again, m) {
				t.Errorf("round trip changed the message:\n got %+v\nwant %+v", again, m)
			}
		})
	}
}

// TestGoldenStream reads every example back to back from one stream, split
// at every byte position, and byte by byte.
func TestGoldenStream(t *testing.T) {
	var stream []byte
	for _, tc := range goldenCases {
		stream = append(stream, readGolden(t, tc.file)...)
	}
	want := collect(t, bytes.NewReader(stream), Limits{})
	if len(want) != len(goldenCases) {
		t.Fatalf("read %d messages, want %d", len(want), len(goldenCases))
	}
	for split := 0; split <= len(stream); split += 7 {
		got := collect(t, io.MultiReader(bytes.NewReader(stream[:split]), bytes.NewReader(stream[split:])), Limits{})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("split at %d: messages differ", split)
		}
	}
	got := collect(t, oneByteReader{bytes.NewReader(stream)}, Limits{})
	if !reflect.DeepEqual(got, want) {
		t.Fatal("byte-by-byte: messages differ")
	}
}

// result is one outcome of ReadMessage, detached from the Reader's buffers.
type result struct {
	Msg *Message
	Err string
}

// collect reads until a fatal error or EOF.
func collect(t testing.TB, src io.Reader, lim Limits) []result {
	t.Helper()
	return collectFrom(t, NewReader(src, lim), nil)
}

// collectFrom reads r to its end, calling between (if not nil) before each
// message.
func collectFrom(t testing.TB, r *Reader, between func()) []result {
	t.Helper()
	var out []result
	for i := 0; i < 100000; i++ {
		if between != nil {
			between()
		}
		m, err := r.ReadMessage()
		var me *MessageError
		switch {
		case err == nil:
			out = append(out, result{Msg: m.Clone()})
		case errors.As(err, &me):
			out = append(out, result{Msg: me.Msg.Clone(), Err: me.Err.Error()})
		case err == io.EOF:
			return out
		default:
			return append(out, result{Err: err.Error()})
		}
	}
	t.Fatal("reader did not stop")
	return nil
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}
