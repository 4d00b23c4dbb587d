package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// startWSServer is startServer with an in-process HTTP listener whose
// handler is the server's ServeWebSocket (Config.WSPort its port).
func startWSServer(t testing.TB, cfg Config, h Handler) (*Server, string) {
	t.Helper()
	var srv *Server
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.ServeWebSocket(w, r) }))
	t.Cleanup(hs.Close)
	cfg.WSPort = hs.Listener.Addr().(*net.TCPAddr).Port
	srv = startServer(t, cfg, h)
	return srv, "ws" + strings.TrimPrefix(hs.URL, "http")
}

func wsPeerURI(name string) msrp.URI {
	return msrp.MustParseURI("msrp://" + name + "xyz.invalid/" + name + "0000;ws")
}

// wsPeer is a WebSocket participant: coder/websocket's client.
type wsPeer struct {
	t   testing.TB
	ws  *websocket.Conn
	uri msrp.URI
}

func dialWS(t testing.TB, url string, self msrp.URI) *wsPeer {
	t.Helper()
	ws, _, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatalf("dial WS: %v", err)
	}
	ws.SetReadLimit(-1)
	t.Cleanup(func() { ws.CloseNow() })
	return &wsPeer{t: t, ws: ws, uri: self}
}

func (p *wsPeer) send(typ websocket.MessageType, b []byte) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := p.ws.Write(ctx, typ, b); err != nil {
		p.t.Fatalf("WS write: %v", err)
	}
}

// next reads one WebSocket message, which must hold exactly one MSRP
// message.
func (p *wsPeer) next() (*msrp.Message, websocket.MessageType) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	typ, data, err := p.ws.Read(ctx)
	if err != nil {
		p.t.Fatalf("WS read: %v", err)
	}
	r := msrp.NewReader(bytes.NewReader(data), msrp.Limits{})
	m, err := r.ReadMessage()
	if err != nil {
		p.t.Fatalf("WS message of %d octets: %v", len(data), err)
	}
	m = m.Clone()
	if _, err := r.ReadMessage(); err != io.EOF {
		p.t.Fatalf("WS message of %d octets holds more than one MSRP message (%v)", len(data), err)
	}
	return m, typ
}

// closed waits for the server to close the WebSocket and returns its status.
func (p *wsPeer) closed() websocket.StatusCode {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		if _, _, err := p.ws.Read(ctx); err != nil {
			if ctx.Err() != nil {
				p.t.Fatal("the server did not close the WebSocket")
			}
			return websocket.CloseStatus(err)
		}
	}
}

func (p *wsPeer) bind(s *Session) {
	p.t.Helper()
	b := msrptest.Bodiless(s.LocalURI(), p.uri)
	p.send(websocket.MessageText, b.AppendTo(nil))
	if m, _ := p.next(); m.TID != b.TID || m.Code != msrp.StatusOK {
		p.t.Fatalf("bind: got %s %d, want 200 for %s", m.TID, m.Code, b.TID)
	}
}

// A ;ws peer gets a ;ws session, binds it over WebSocket, and every MSRP
// message travels in one WebSocket message both ways, text and binary
// frames in, binary out; a bodiless SEND is a keep-alive, answered and not
// passed on.
func TestWSSession(t *testing.T) {
	rec := &recorder{}
	srv, url := startWSServer(t, Config{}, rec)
	u := wsPeerURI("alice")
	s := newSession(t, srv, u)
	if l := s.LocalURI(); !isWS(l) || l.Secure || l.Port != srv.cfg.WSPort {
		t.Fatalf("session URI %s: want msrp ;ws on port %d", l, srv.cfg.WSPort)
	}
	p := dialWS(t, url, u)
	p.bind(s)
	for i, typ := range []websocket.MessageType{websocket.MessageText, websocket.MessageBinary} {
		m := msrptest.Send(s.LocalURI(), u, "text/plain", []byte("over WebSocket"))
		p.send(typ, m.AppendTo(nil))
		if r, _ := p.next(); r.TID != m.TID || r.Code != msrp.StatusOK {
			t.Fatalf("got %s %d, want 200 for %s", r.TID, r.Code, m.TID)
		}
		waitFor(t, "the request handled", func() bool { return len(rec.reqs()) == i+1 })
	}
	ka := msrptest.Bodiless(s.LocalURI(), u)
	p.send(websocket.MessageText, ka.AppendTo(nil))
	if r, _ := p.next(); r.TID != ka.TID || r.Code != msrp.StatusOK {
		t.Fatalf("keep-alive: got %s %d", r.TID, r.Code)
	}
	if n := len(rec.reqs()); n != 2 {
		t.Fatalf("%d requests handled, want 2 (a keep-alive is not passed on)", n)
	}

	// Out: many units per batch, small and large (a 40 KiB body goes
	// out uncopied), each one WebSocket message.
	const n = 100
	bodies := make([][]byte, n)
	for i := range n {
		size := 100 + i
		if i%30 == 10 {
			size = 40 << 10
		}
		bodies[i] = bytes.Repeat([]byte{byte('a' + i%26)}, size)
		out := msrptest.Send(u, s.LocalURI(), "text/plain", bodies[i])
		var err error
		if i%2 == 0 {
			err = s.Enqueue(out.AppendHead(nil), bodies[i], out.AppendEnd(nil))
		} else {
			err = s.EnqueueFrame(out.AppendHead(nil), bodies[i], out.AppendEnd(nil))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		got, typ := p.next()
		if typ != websocket.MessageBinary {
			t.Fatalf("message %d in a %v frame, want binary", i, typ)
		}
		if !bytes.Equal(got.Body, bodies[i]) {
			t.Fatalf("message %d: body of %d octets, want %d", i, len(got.Body), len(bodies[i]))
		}
	}
}

// A ;ws session binds over WebSocket only, an msrp one not over
// WebSocket (481); the relay never dials a ;ws peer, and without a
// WebSocket listener it has no ;ws session to give.
func TestWSBindWrongTransport(t *testing.T) {
	srv, url := startWSServer(t, Config{}, &recorder{})
	wu := wsPeerURI("bob")
	ws := newSession(t, srv, wu)
	plain := dial(t, srv, wu)
	b := msrptest.Bodiless(ws.LocalURI(), wu)
	plain.Send(b)
	plain.ExpectResponse(b.TID, msrp.StatusSessionDoesNotExist)

	pu := peerURI("carol")
	tcp := newSession(t, srv, pu)
	p := dialWS(t, url, pu)
	b = msrptest.Bodiless(tcp.LocalURI(), pu)
	p.send(websocket.MessageText, b.AppendTo(nil))
	if r, _ := p.next(); r.Code != msrp.StatusSessionDoesNotExist {
		t.Fatalf("msrp session over WebSocket: %d, want 481", r.Code)
	}

	none := startServer(t, Config{}, nil)
	if _, err := none.NewSession([]msrp.URI{wu}, nil); !errors.Is(err, ErrNoWebSocket) {
		t.Fatalf("NewSession(;ws) without WSPort: %v, want ErrNoWebSocket", err)
	}
}

// An upgrade without the msrp subprotocol is refused with 400 and
// nothing upgraded; the server serves on.
func TestWSSubprotocolRefused(t *testing.T) {
	srv, url := startWSServer(t, Config{}, &recorder{})
	for _, protos := range [][]string{nil, {"sip"}} {
		_, resp, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{Subprotocols: protos})
		if err == nil {
			t.Fatalf("subprotocols %q: upgraded", protos)
		}
		if resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("subprotocols %q: %v, want 400", protos, resp)
		}
	}
	if n := srv.Stats().WSRefused; n != 2 {
		t.Fatalf("WSRefused %d, want 2", n)
	}
	u := wsPeerURI("dave")
	dialWS(t, url, u).bind(newSession(t, srv, u))
}

// A WebSocket message holding two MSRP messages, or half of one, or one
// over the limits, closes the connection with its typed reason (and a
// close frame); the server serves on.
func TestWSBadMessages(t *testing.T) {
	rec := &recorder{}
	srv, url := startWSServer(t, Config{Limits: msrp.Limits{MaxChunk: 4096}}, rec)
	cases := []struct {
		name   string
		data   func(s *Session, u msrp.URI) []byte
		reason CloseReason
		status websocket.StatusCode
	}{
		{"two", func(s *Session, u msrp.URI) []byte {
			a := msrptest.Send(s.LocalURI(), u, "text/plain", []byte("one"))
			b := msrptest.Send(s.LocalURI(), u, "text/plain", []byte("two"))
			return b.AppendTo(a.AppendTo(nil))
		}, CloseWSFraming, websocket.StatusProtocolError},
		{"half", func(s *Session, u msrp.URI) []byte {
			m := msrptest.Send(s.LocalURI(), u, "text/plain", []byte("cut short"))
			w := m.AppendTo(nil)
			return w[:len(w)/2]
		}, CloseWSFraming, websocket.StatusProtocolError},
		{"oversized", func(s *Session, u msrp.URI) []byte {
			m := msrptest.Send(s.LocalURI(), u, "text/plain", bytes.Repeat([]byte("x"), 32<<10))
			return m.AppendTo(nil)
		}, CloseWSTooLarge, websocket.StatusMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := wsPeerURI(tc.name)
			s := newSession(t, srv, u)
			p := dialWS(t, url, u)
			p.bind(s)
			before := srv.Stats().ConnsClosed[tc.reason]
			// The server may close before the client has written it all.
			p.ws.Write(context.Background(), websocket.MessageBinary, tc.data(s, u))
			// The close frame is sent when the socket takes it at once;
			// the client library may report the TCP close that follows
			// at once instead (-1).
			if st := p.closed(); st != tc.status && st != -1 {
				t.Errorf("close status %v, want %v", st, tc.status)
			}
			waitFor(t, "the close counted", func() bool { return srv.Stats().ConnsClosed[tc.reason] == before+1 })
			rec.waitEnded(t, s, tc.reason)
			// Others are served on.
			v := wsPeerURI("ok" + tc.name)
			dialWS(t, url, v).bind(newSession(t, srv, v))
		})
	}
}
