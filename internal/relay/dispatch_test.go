package relay

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

func TestHandlerStatusIsSent(t *testing.T) {
	rec := &recorder{code: func(_ *Session, m *msrp.Message) int {
		switch {
		case m.Method == msrp.MethodNICKNAME:
			return msrp.StatusMethodNotUnderstood
		case m.Method == msrp.MethodSEND && string(m.Body) == "later":
			return 0 // the handler answers itself
		case m.Method == msrp.MethodSEND && string(m.Body) == "html":
			return msrp.StatusUnsupportedMedia
		}
		return msrp.StatusOK
	}}
	srv := startServer(t, Config{}, rec)
	s, p := boundSession(t, srv, "alice")
	to, from := s.LocalURI(), p.URI

	n := msrptest.Nickname(to, from, "alice")
	p.Send(n)
	p.ExpectResponse(n.TID, msrp.StatusMethodNotUnderstood)

	m := msrptest.Send(to, from, "message/cpim", []byte("hello"))
	p.Send(m)
	p.ExpectResponse(m.TID, msrp.StatusOK)

	m = msrptest.Send(to, from, "text/html", []byte("html"))
	p.Send(m)
	p.ExpectResponse(m.TID, msrp.StatusUnsupportedMedia)

	// Failure-Report: partial: no 200, but errors are sent.
	m = msrptest.Send(to, from, "message/cpim", []byte("ok"), msrptest.WithHeader(msrp.HeaderFailureReport, "partial"))
	p.Send(m)
	e := msrptest.Send(to, from, "text/html", []byte("html"), msrptest.WithHeader(msrp.HeaderFailureReport, "partial"))
	p.Send(e)
	p.ExpectResponse(e.TID, msrp.StatusUnsupportedMedia)

	// Code 0: nothing sent by the relay; the handler answers through Send.
	later := msrptest.Send(to, from, "message/cpim", []byte("later"))
	p.Send(later)
	waitFor(t, "the request", func() bool { return len(rec.reqs()) == 6 })
	if err := s.Send(later.Response(299, "Handled elsewhere")); err != nil {
		t.Fatal(err)
	}
	p.ExpectResponse(later.TID, 299)

	reqs := rec.reqs()
	if reqs[0].Method != msrp.MethodNICKNAME || string(reqs[1].Body) != "hello" {
		t.Errorf("handler saw %s, %s", msrptest.Describe(reqs[0]), msrptest.Describe(reqs[1]))
	}
}

func TestReportIsNeverAnswered(t *testing.T) {
	rec := &recorder{code: func(*Session, *msrp.Message) int { return msrp.StatusBadRequest }}
	srv := startServer(t, Config{}, rec)
	s, p := boundSession(t, srv, "alice")
	r := msrptest.Report(s.LocalURI(), p.URI, "msgid1234", msrp.StatusOK, msrp.ByteRange{Start: 1, End: 5, Total: 5})
	p.Send(r)
	b := msrptest.Bodiless(s.LocalURI(), p.URI)
	p.Send(b)
	p.ExpectResponse(b.TID, msrp.StatusOK) // the REPORT got nothing
	if reqs := rec.reqs(); len(reqs) != 1 || reqs[0].Method != msrp.MethodREPORT {
		t.Errorf("the handler should have seen the REPORT, saw %d requests", len(reqs))
	}
	// An invalid REPORT (no Status) is neither answered nor passed on.
	bad := msrptest.Report(s.LocalURI(), p.URI, "msgid1234", msrp.StatusOK, msrp.ByteRange{Start: 1, End: 5, Total: 5})
	bad.Header.Del(msrp.HeaderStatus)
	p.Send(bad)
	b = msrptest.Bodiless(s.LocalURI(), p.URI)
	p.Send(b)
	p.ExpectResponse(b.TID, msrp.StatusOK)
	if len(rec.reqs()) != 1 {
		t.Error("an invalid REPORT reached the handler")
	}
}

// Requests that break RFC 4975 header rules get 400 and never reach the handler.
func TestInvalidRequestGets400(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	s, p := boundSession(t, srv, "alice")
	n := msrptest.Nickname(s.LocalURI(), p.URI, "al")
	n.Header.Del(msrp.HeaderUseNickname)
	p.Send(n)
	p.ExpectResponse(n.TID, msrp.StatusBadRequest)
	m := msrptest.Send(s.LocalURI(), p.URI, "message/cpim", []byte("x"))
	m.Header.Set(msrp.HeaderByteRange, "5-1/0")
	p.Send(m)
	p.ExpectResponse(m.TID, msrp.StatusBadRequest)
	if len(rec.reqs()) != 0 {
		t.Error("an invalid request reached the handler")
	}
}

func TestOversizedChunkGets413(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{Limits: msrp.Limits{MaxChunk: 1024}}, rec)
	s, p := boundSession(t, srv, "alice")
	big := msrptest.Send(s.LocalURI(), p.URI, "message/cpim", bytes.Repeat([]byte("z"), 5000))
	p.Send(big)
	p.ExpectResponse(big.TID, msrp.StatusStopSending)
	// The stream goes on.
	m := msrptest.Send(s.LocalURI(), p.URI, "message/cpim", []byte("small"))
	p.Send(m)
	p.ExpectResponse(m.TID, msrp.StatusOK)
	if reqs := rec.reqs(); len(reqs) != 1 || string(reqs[0].Body) != "small" {
		t.Errorf("handler saw %d requests", len(reqs))
	}
	// An oversized chunk for an unknown session is answered 481.
	other := big.Clone()
	other.TID = "othertid1"
	other.Header.Set(msrp.HeaderToPath, "msrp://127.0.0.1:9/unknownsess;tcp")
	p.Send(other)
	p.ExpectResponse(other.TID, msrp.StatusSessionDoesNotExist)
}

func TestMalformedHeaderGets400(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	s, p := boundSession(t, srv, "alice")
	raw := "MSRP badhdr01 SEND\r\nTo-Path: " + s.LocalURI().String() + "\r\nFrom-Path: " + p.URI.String() +
		"\r\nThis line has no colon\r\n-------badhdr01$\r\n"
	p.SendRaw([]byte(raw))
	p.ExpectResponse("badhdr01", msrp.StatusBadRequest)
	// Content-Type without a body is malformed too.
	raw = "MSRP badhdr02 SEND\r\nTo-Path: " + s.LocalURI().String() + "\r\nFrom-Path: " + p.URI.String() +
		"\r\nContent-Type: text/plain\r\n-------badhdr02$\r\n"
	p.SendRaw([]byte(raw))
	p.ExpectResponse("badhdr02", msrp.StatusBadRequest)
	bind(t, p, s) // the stream goes on
	if len(rec.reqs()) != 0 {
		t.Error("a malformed request reached the handler")
	}
}

func TestGarbageClosesConnection(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	s, p := boundSession(t, srv, "alice")
	p.SendRaw([]byte("HELLO world\r\n\r\n"))
	p.ExpectClosed()
	rec.waitEnded(t, s, CloseProtocolError)
	if st := srv.Stats(); st.ConnsClosed[CloseProtocolError] != 1 || st.SessionsEnded[CloseProtocolError] != 1 {
		t.Errorf("stats %+v", st)
	}
	if !errors.Is(s.Send(msrptest.Bodiless(p.URI, s.LocalURI())), ErrSessionClosed) {
		t.Error("Send on an ended session")
	}
}

func TestSendAndResponses(t *testing.T) {
	rec := &recorder{}
	srv := startServer(t, Config{}, rec)
	alice := peerURI("alice")
	s := newSession(t, srv, alice)
	out := &msrp.Message{Method: msrp.MethodSEND, Header: msrp.Header{
		{Name: msrp.HeaderToPath, Value: alice.String()},
		{Name: msrp.HeaderFromPath, Value: s.LocalURI().String()},
		{Name: msrp.HeaderMessageID, Value: "welcome1"},
		{Name: msrp.HeaderByteRange, Value: "1-7/7"},
		{Name: msrp.HeaderContentType, Value: "text/plain"},
	}, Body: []byte("welcome")}
	if err := s.Send(out); !errors.Is(err, ErrNotBound) {
		t.Fatalf("Send before binding: %v", err)
	}
	p := dial(t, srv, alice)
	bind(t, p, s)
	if err := s.Send(out); err != nil {
		t.Fatal(err)
	}
	if out.TID == "" {
		t.Fatal("Send did not set a transaction id")
	}
	in := p.ExpectRequest(msrp.MethodSEND) // answers 200
	if in.TID != out.TID || string(in.Body) != "welcome" {
		t.Errorf("peer got %s", msrptest.Describe(in))
	}
	waitFor(t, "HandleResponse", func() bool { return len(rec.resps()) == 1 })
	if r := rec.resps()[0]; r.TID != out.TID || r.Code != msrp.StatusOK {
		t.Errorf("handler got %s", msrptest.Describe(r))
	}
	// A response for an unknown session is dropped.
	stray := in.Response(msrp.StatusOK, "")
	stray.Header.Set(msrp.HeaderToPath, "msrp://127.0.0.1:9/unknownsess;tcp")
	p.Send(stray)
	bind(t, p, s)
	if len(rec.resps()) != 1 {
		t.Error("a stray response reached the handler")
	}
	s.Close(CloseNormal)
	if err := s.Send(out); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Send after Close: %v", err)
	}
}

func TestTraceLogsRawMessages(t *testing.T) {
	var logs servertest.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := startServer(t, Config{Logger: log, Trace: true}, &recorder{})
	s, p := boundSession(t, srv, "alice")
	for _, want := range []string{`msg="msrp read"`, `msg="msrp write"`, "conn_id=1", "MSRP ", s.ID(), "session=" + s.ID()} {
		waitFor(t, "log "+want, func() bool { return strings.Contains(logs.String(), want) })
	}
	srv.SetTrace(false)
	n := len(logs.String())
	bind(t, p, s)
	if strings.Contains(logs.String()[n:], "msrp read") {
		t.Error("trace still on after SetTrace(false)")
	}
}
