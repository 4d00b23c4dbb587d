package msrp

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

func TestEnvelopeFrame(t *testing.T) {
	e := Envelope{
		ToPath:        "msrp://client.biloxi.example.com:4923/49dufdje2;tcp",
		FromPath:      "msrp://chat.example.com:5678/jofofo3;tcp",
		MessageID:     "304sse2",
		FailureReport: "partial",
		ContentType:   "message/cpim",
	}
	var ids IDSource
	body := []byte("To: <sip:chatroom22@chat.example.com>\r\nFrom: <sip:alice@atlanta.example.com>\r\n\r\nContent-Type: text/plain\r\n\r\nHello")
	buf, f := e.AppendFrame(nil, &ids, ByteRange{1, int64(len(body)), int64(len(body))}, FlagEnd)
	if len(buf) != len(f.Head)+len(f.End) || len(f.TID) != TIDLength {
		t.Fatalf("frame does not cover the buffer: %d vs %d+%d", len(buf), len(f.Head), len(f.End))
	}
	var wire bytes.Buffer
	bufs := net.Buffers{f.Head, body, f.End}
	if _, err := bufs.WriteTo(&wire); err != nil {
		t.Fatal(err)
	}
	m := readOne(t, wire.Bytes())
	if m.TID != string(f.TID) || m.Method != MethodSEND || !bytes.Equal(m.Body, body) || m.Flag != '$' {
		t.Fatalf("got %+v", m)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if m.Header.Get(HeaderFailureReport) != "partial" || m.Header.Get(HeaderByteRange) != (ByteRange{1, int64(len(body)), int64(len(body))}).String() ||
		m.Header.Get(HeaderToPath) != e.ToPath || m.ContentType() != "message/cpim" {
		t.Fatalf("headers %+v", m.Header)
	}
	// Appending a second frame to the same buffer leaves the first intact, with a new tid.
	_, g := e.AppendFrame(buf, &ids, ByteRange{1, Unknown, Unknown}, FlagContinue)
	if bytes.Equal(g.TID, f.TID) || !bytes.HasSuffix(g.End, []byte(string(g.TID)+"+\r\n")) {
		t.Fatalf("second frame %q", g.End)
	}

	// A pre-rendered Middle gives the same frame but for the tid.
	br := ByteRange{1, int64(len(body)), int64(len(body))}
	withMiddle := e
	withMiddle.Middle = e.AppendMiddle(nil, br)
	_, mf := withMiddle.AppendFrame(nil, &ids, ByteRange{7, 7, 7}, FlagEnd) // br unused
	if strings.ReplaceAll(string(mf.Head), string(mf.TID), "T") != strings.ReplaceAll(string(f.Head), string(f.TID), "T") ||
		strings.ReplaceAll(string(mf.End), string(mf.TID), "T") != strings.ReplaceAll(string(f.End), string(f.TID), "T") {
		t.Fatalf("with Middle:\n%q\n%q\nwithout:\n%q\n%q", mf.Head, mf.End, f.Head, f.End)
	}

	// Bodiless: no blank line, no CRLF before the end-line.
	bare := Envelope{ToPath: e.ToPath, FromPath: e.FromPath}
	_, h := bare.AppendFrame(nil, &ids, ByteRange{1, 0, 0}, FlagEnd)
	m = readOne(t, append(append([]byte{}, h.Head...), h.End...))
	if m.HasBody() || !strings.HasPrefix(string(h.End), "-------") {
		t.Fatalf("bodiless frame: %q %q", h.Head, h.End)
	}
}

func TestEnvelopeNoAllocs(t *testing.T) {
	e := Envelope{ToPath: tPathB, FromPath: tPathA, MessageID: "abcd1234", ContentType: "message/cpim"}
	var ids IDSource
	buf := make([]byte, 0, 512)
	n := testing.AllocsPerRun(200, func() {
		buf, _ = e.AppendFrame(buf[:0], &ids, ByteRange{1, 300, 300}, FlagEnd)
	})
	if n != 0 {
		t.Errorf("AppendFrame allocated %v times per frame", n)
	}
}

func TestWriteCanonicalOrder(t *testing.T) {
	m := &Message{TID: "abcd1234", Method: "SEND", Body: []byte("x"), Header: Header{
		{"content-type", "text/plain"}, {"X-Ext", "1"}, {"from-path", tPathA}, {"Content-ID", "<c@x>"},
		{"to-path", tPathB}, {"message-id", "mid12345"},
	}}
	want := "MSRP abcd1234 SEND\r\nTo-Path: " + tPathB + "\r\nFrom-Path: " + tPathA +
		"\r\nX-Ext: 1\r\nMessage-ID: mid12345\r\nContent-ID: <c@x>\r\nContent-Type: text/plain\r\n\r\nx\r\n-------abcd1234$\r\n"
	if got := string(m.Bytes()); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil || b.String() != want {
		t.Fatalf("WriteTo: %q %v", b.String(), err)
	}
}

func TestResponseAddressing(t *testing.T) {
	relay := "msrps://relay.example.com:2855/r1;tcp"
	send := &Message{TID: "abcd1234", Method: MethodSEND, Header: Header{
		{HeaderToPath, tPathB}, {HeaderFromPath, relay + " " + tPathA}}}
	r := send.Response(StatusOK, "")
	if r.Header.Get(HeaderToPath) != relay || r.Header.Get(HeaderFromPath) != tPathB || r.Comment != "OK" || r.TID != "abcd1234" {
		t.Errorf("SEND response: %+v", r)
	}
	nick := &Message{TID: "abcd1234", Method: MethodNICKNAME, Header: send.Header}
	r = nick.Response(StatusNicknameInUse, "")
	if r.Header.Get(HeaderToPath) != relay+" "+tPathA || r.Comment != "Nickname reserved or already in use" {
		t.Errorf("NICKNAME response: %+v", r)
	}
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "425") {
		t.Errorf("Err() = %v", err)
	}
	// a response parses back and validates
	back := readOne(t, r.Bytes())
	if err := back.Validate(); err != nil || back.Code != 425 {
		t.Errorf("response round trip: %+v %v", back, err)
	}
}

func TestWantsResponse(t *testing.T) {
	cases := []struct {
		method, fr string
		code       int
		want       bool
	}{
		{"SEND", "", 200, true}, {"SEND", "yes", 400, true}, {"SEND", "no", 200, false}, {"SEND", "no", 400, false},
		{"SEND", "partial", 200, false}, {"SEND", "partial", 413, true}, {"REPORT", "", 200, false}, {"REPORT", "", 400, false},
		{"NICKNAME", "", 425, true},
	}
	for _, tc := range cases {
		m := &Message{Method: tc.method}
		if tc.fr != "" {
			m.Header.Add(HeaderFailureReport, tc.fr)
		}
		if got := m.WantsResponse(tc.code); got != tc.want {
			t.Errorf("%s FR=%q code %d: %v", tc.method, tc.fr, tc.code, got)
		}
	}
}

func TestBodyContainsEndLine(t *testing.T) {
	if !BodyContainsEndLine([]byte("a\r\n-------abcd1234+\r\n"), "abcd1234") ||
		BodyContainsEndLine([]byte("-------abcd1234x -------abcd1234"), "abcd1234") {
		t.Error("BodyContainsEndLine")
	}
}

// TestReportMatchesRFC builds the success REPORT of RFC 4975 §11.6 from its SEND.
func TestReportMatchesRFC(t *testing.T) {
	send := readOne(t, readGolden(t, "rfc4975/11.6-send.msrp"))
	want := readGolden(t, "rfc4975/11.6-report.msrp")
	rep := send.Report("dkei38sd", StatusOK, "", ByteRange{1, 106, 106})
	if got := rep.Bytes(); string(got) != string(want) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if err := rep.Validate(); err != nil {
		t.Fatal(err)
	}
}
