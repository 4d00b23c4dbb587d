package msrptest

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/parley-im/parley/msrp"
)

// DefaultTimeout bounds every Expect call that does not set its own.
const DefaultTimeout = 5 * time.Second

// TB is the part of testing.TB a Peer needs.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Peer is the far end of an MSRP connection in a test.
type Peer struct {
	t       TB
	conn    net.Conn
	r       *msrp.Reader
	Timeout time.Duration // per Expect; DefaultTimeout when zero
	// URI is the peer's own MSRP URI, used as From-Path by the builders.
	URI msrp.URI
}

// NewPeer wraps conn. The Peer owns conn; Close closes it.
func NewPeer(t TB, conn net.Conn, self msrp.URI) *Peer {
	return &Peer{t: t, conn: conn, r: msrp.NewReader(conn, msrp.Limits{}), URI: self}
}

// Pipe returns a Peer on one end of a net.Pipe and the other end for the
// code under test. net.Pipe is synchronous: a write blocks until the other
// side reads, which makes slow-reader situations easy to stage.
func Pipe(t TB, self msrp.URI) (*Peer, net.Conn) {
	a, b := net.Pipe()
	return NewPeer(t, a, self), b
}

// Dial connects a Peer to addr over TCP.
func Dial(t TB, addr string, self msrp.URI) *Peer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, DefaultTimeout)
	if err != nil {
		t.Fatalf("msrptest: dial %s: %v", addr, err)
	}
	return NewPeer(t, c, self)
}

// Conn returns the underlying connection.
func (p *Peer) Conn() net.Conn { return p.conn }

// Close closes the connection.
func (p *Peer) Close() error { return p.conn.Close() }

// Send writes m, failing the test on error.
func (p *Peer) Send(m *msrp.Message) {
	p.t.Helper()
	p.SendRaw(m.Bytes())
}

// SendRaw writes bytes as they are: for malformed input and split writes.
func (p *Peer) SendRaw(b []byte) {
	p.t.Helper()
	if err := p.conn.SetWriteDeadline(time.Now().Add(p.timeout())); err != nil {
		p.t.Fatalf("msrptest: %v", err)
	}
	if _, err := p.conn.Write(b); err != nil {
		p.t.Fatalf("msrptest: write: %v", err)
	}
}

func (p *Peer) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultTimeout
}

// Next reads the next message within the timeout. The message is a copy the
// caller may keep.
func (p *Peer) Next() (*msrp.Message, error) {
	if err := p.conn.SetReadDeadline(time.Now().Add(p.timeout())); err != nil {
		return nil, err
	}
	m, err := p.r.ReadMessage()
	if err != nil {
		return nil, err
	}
	return m.Clone(), nil
}

// Expect reads the next message, failing the test if none arrives in time.
func (p *Peer) Expect() *msrp.Message {
	p.t.Helper()
	m, err := p.Next()
	if err != nil {
		p.t.Fatalf("msrptest: expected a message: %v", err)
	}
	return m
}

// ExpectResponse reads the next message and checks that it is the response
// with the given code to the transaction tid.
func (p *Peer) ExpectResponse(tid string, code int) *msrp.Message {
	p.t.Helper()
	m := p.Expect()
	if m.IsRequest() || m.TID != tid || m.Code != code {
		p.t.Fatalf("msrptest: expected response %d to %s, got %s", code, tid, Describe(m))
	}
	return m
}

// ExpectRequest reads the next message, checks its method, and answers it
// with 200 when the request asks for a response.
func (p *Peer) ExpectRequest(method string) *msrp.Message {
	p.t.Helper()
	m := p.Expect()
	if m.Method != method {
		p.t.Fatalf("msrptest: expected a %s request, got %s", method, Describe(m))
	}
	if m.WantsResponse(msrp.StatusOK) {
		p.Send(m.Response(msrp.StatusOK, ""))
	}
	return m
}

// ExpectSilence checks that nothing arrives within d.
func (p *Peer) ExpectSilence(d time.Duration) {
	p.t.Helper()
	if err := p.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		p.t.Fatalf("msrptest: %v", err)
	}
	m, err := p.r.ReadMessage()
	var ne net.Error
	if err == nil {
		p.t.Fatalf("msrptest: expected silence, got %s", Describe(m))
	}
	if !errors.As(err, &ne) || !ne.Timeout() {
		p.t.Fatalf("msrptest: expected silence, got error %v", err)
	}
}

// ExpectClosed checks that the other side closes the connection in time.
func (p *Peer) ExpectClosed() {
	p.t.Helper()
	m, err := p.Next()
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		p.t.Fatalf("msrptest: expected the connection to close, got %v %v", Describe(m), err)
	}
}

// Describe summarises a message for test failure output.
func Describe(m *msrp.Message) string {
	if m == nil {
		return "<nil>"
	}
	if m.IsRequest() {
		return fmt.Sprintf("%s %s (%d header fields, %d body bytes, flag %c)", m.Method, m.TID, len(m.Header), len(m.Body), m.EndFlag())
	}
	return fmt.Sprintf("response %d %q to %s", m.Code, m.Comment, m.TID)
}
