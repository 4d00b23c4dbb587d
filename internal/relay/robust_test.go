package relay

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// An end-line that cannot end its request means framing is lost (RFC 4975
// §7.1): the relay cannot answer, so it closes the connection with
// CloseFramingLost instead of waiting for an end-line that never comes.
// Other connections are not affected.
func TestFramingLostClosesConnection(t *testing.T) {
	cases := []struct {
		name string
		wire func(to, from string) string
	}{
		{"bodiless request, other tid's end-line", func(to, from string) string {
			return "MSRP lost0001 SEND\r\nTo-Path: " + to + "\r\nFrom-Path: " + from + "\r\n-------other001$\r\n"
		}},
		{"bodiless request, bad flag", func(to, from string) string {
			return "MSRP lost0002 SEND\r\nTo-Path: " + to + "\r\nFrom-Path: " + from + "\r\n-------lost0002X\r\n"
		}},
		{"body, bad flag", func(to, from string) string {
			return "MSRP lost0003 SEND\r\nTo-Path: " + to + "\r\nFrom-Path: " + from +
				"\r\nMessage-ID: mid00001\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------lost0003!\r\n"
		}},
		{"other tid where Byte-Range ends the body", func(to, from string) string {
			return "MSRP lost0004 SEND\r\nTo-Path: " + to + "\r\nFrom-Path: " + from +
				"\r\nMessage-ID: mid00001\r\nByte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------other004$\r\n"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			srv := startServer(t, Config{}, rec)
			s, p := boundSession(t, srv, "alice")
			other, op := boundSession(t, srv, "bob")
			p.SendRaw([]byte(tc.wire(s.LocalURI().String(), p.URI.String())))
			p.ExpectClosed()
			rec.waitEnded(t, s, CloseFramingLost)
			if st := srv.Stats(); st.ConnsClosed[CloseFramingLost] != 1 || st.SessionsEnded[CloseFramingLost] != 1 {
				t.Errorf("stats %+v", st)
			}
			if len(rec.reqs()) != 0 {
				t.Error("the request reached the handler")
			}
			bind(t, op, other) // bob's connection is served on
		})
	}
}

// panicker is a Handler whose HandleRequest panics on a body of "boom".
type panicker struct{ recorder }

func (h *panicker) HandleRequest(s *Session, m *msrp.Message) int {
	if string(m.Body) == "boom" {
		panic("switch bug")
	}
	return h.recorder.HandleRequest(s, m)
}

// A panic in the Handler while it handles one message is recovered at the
// read loop: that connection closes with CloseInternalError, the panic is
// counted and logged (the first with its stack, later ones in one line),
// and every other connection is served on.
func TestHandlerPanicClosesOnlyItsConnection(t *testing.T) {
	var logs servertest.LogBuffer
	h := &panicker{}
	srv := startServer(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, h)
	bob, bp := boundSession(t, srv, "bob")

	for i, name := range []string{"alice", "carol"} {
		s, p := boundSession(t, srv, name)
		ok := msrptest.Send(s.LocalURI(), p.URI, "text/plain", []byte("fine"))
		boom := msrptest.Send(s.LocalURI(), p.URI, "text/plain", []byte("boom"))
		p.Send(ok)
		p.ExpectResponse(ok.TID, msrp.StatusOK)
		p.Send(boom)
		p.ExpectClosed()
		h.waitEnded(t, s, CloseInternalError)
		st := srv.Stats()
		if st.HandlerPanics != uint64(i+1) || st.ConnsClosed[CloseInternalError] != uint64(i+1) {
			t.Errorf("after panic %d: stats %+v", i+1, st)
		}

		// Bob, on another connection, is served as before.
		m := msrptest.Send(bob.LocalURI(), bp.URI, "text/plain", []byte("still here"))
		bp.Send(m)
		bp.ExpectResponse(m.TID, msrp.StatusOK)
	}
	// A new connection binds and is served too.
	s, p := boundSession(t, srv, "dave")
	m := msrptest.Send(s.LocalURI(), p.URI, "text/plain", []byte("hello"))
	p.Send(m)
	p.ExpectResponse(m.TID, msrp.StatusOK)

	out := logs.String()
	if n := strings.Count(out, "msrp panic recovered"); n != 2 {
		t.Fatalf("%d panic log records, want 2:\n%s", n, out)
	}
	first, second, _ := strings.Cut(out[strings.Index(out, "msrp panic recovered"):], "\n")
	if !strings.Contains(first, "stack=") || !strings.Contains(first, "switch bug") || !strings.Contains(first, "panicker") {
		t.Errorf("first panic record without its stack: %s", first)
	}
	second = second[strings.Index(second, "msrp panic recovered"):]
	if line, _, _ := strings.Cut(second, "\n"); strings.Contains(line, "stack=") || !strings.Contains(line, "panics=2") {
		t.Errorf("second panic record: %s", line)
	}
}

// SessionEnded panicking does not take the server down either: the
// connection's sessions still end, and the panic is counted.
func TestSessionEndedPanicRecovered(t *testing.T) {
	h := &endPanicker{}
	srv := startServer(t, Config{}, h)
	_, p := boundSession(t, srv, "alice")
	bob, bp := boundSession(t, srv, "bob")
	p.Close()
	waitFor(t, "the panic", func() bool { return srv.Stats().HandlerPanics == 1 })
	waitFor(t, "alice's session to go", func() bool { return srv.Stats().SessionsOpen == 1 })
	m := msrptest.Send(bob.LocalURI(), bp.URI, "text/plain", []byte("still here"))
	bp.Send(m)
	bp.ExpectResponse(m.TID, msrp.StatusOK)
}

type endPanicker struct{ recorder }

func (h *endPanicker) SessionEnded(s *Session, reason CloseReason) {
	if reason == ClosePeer {
		panic("ended bug")
	}
	h.recorder.SessionEnded(s, reason)
}

// A peer that half-closes its connection after its requests still gets
// their responses: the queue drains before the socket closes (ClosePeer
// drains like CloseNormal).
func TestHalfClosedPeerGetsItsResponses(t *testing.T) {
	rec := &recorder{code: func(*Session, *msrp.Message) int { return msrp.StatusForbidden }}
	srv := startServer(t, Config{}, rec)
	s, p := boundSession(t, srv, "alice")
	m := msrptest.Send(s.LocalURI(), p.URI, "text/plain", []byte("hello"))
	bad := msrptest.Send(s.LocalURI(), p.URI, "text/plain", []byte("x"), msrptest.WithHeader(msrp.HeaderByteRange, "1-1/1"))
	p.SendRaw(append(m.Bytes(), bad.Bytes()...))
	if err := p.Conn().(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	p.ExpectResponse(m.TID, msrp.StatusForbidden)
	p.ExpectResponse(bad.TID, msrp.StatusBadRequest) // Byte-Range twice
	p.ExpectClosed()
	rec.waitEnded(t, s, ClosePeer)
}
