package client

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// fakeRoom is a scripted room: a rawFocus that answers the INVITE with an
// SDP answer pointing at a TCP listener of the test, and the switch, an
// msrptest.Peer on the MSRP connection the Session opens there. Everything
// the Session sends on MSRP is read, and answered, by the test.
type fakeRoom struct {
	focus *rawFocus
	ln    net.Listener
	sw    msrp.URI // the switch's URI: the focus's a=path
	peer  *msrptest.Peer
	room  string // the room URI given to Join
}

// Chatroom attributes for joinFake.
const (
	bothCaps = "a=chatroom:nickname private-messages"
	bareCaps = "a=chatroom"
	noCaps   = "" // no a=chatroom: a conference-unaware focus
)

// joinFake joins a fakeRoom whose answer carries the chatroom attribute
// line (one of the constants above), with alice's options changed by
// mutate. The bind is answered 200. The caller defers f.close(s).
func joinFake(t *testing.T, chatroom string, mutate func(*Options)) (*Session, *fakeRoom) {
	t.Helper()
	return joinFakeWith(t, chatroom, mutate, nil)
}

// joinFakeWith is joinFake with setup run on the rawFocus before it
// serves (see newRawFocusWith).
func joinFakeWith(t *testing.T, chatroom string, mutate func(*Options), setup func(*rawFocus)) (*Session, *fakeRoom) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	f := &fakeRoom{ln: ln, sw: msrp.URI{Host: "127.0.0.1", Port: port, SessionID: msrp.NewSessionID(), Transport: "tcp"}}
	answer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=message " + strconv.Itoa(port) + " TCP/MSRP *\r\na=accept-types:message/cpim\r\n" +
		"a=accept-wrapped-types:*\r\na=path:" + f.sw.String() + "\r\na=setup:passive\r\n"
	if chatroom != noCaps {
		answer += chatroom + "\r\n"
	}
	f.focus = newRawFocusWith(t, "tcp", 487, answer, setup)
	f.room = "sip:lobby@" + f.focus.addr

	o := opts(t, "alice", "tcp")
	if mutate != nil {
		mutate(&o)
	}
	type result struct {
		s   *Session
		err error
	}
	res := make(chan result, 1)
	go func() {
		s, err := Join(context.Background(), f.room, o)
		res <- result{s, err}
	}()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	nc, err := ln.Accept()
	if err != nil {
		r := <-res // Join ends within its Timeout
		t.Fatalf("no MSRP connection: %v (Join: %v)", err, r.err)
	}
	f.peer = msrptest.NewPeer(t, nc, f.sw)
	bind := f.peer.ExpectRequest(msrp.MethodSEND) // answered 200
	if bind.HasBody() {
		t.Fatalf("the bind SEND has a body: %s", msrptest.Describe(bind))
	}
	r := <-res
	if r.err != nil {
		t.Fatalf("Join: %v", r.err)
	}
	f.focus.expect(t, sip.INVITE, sip.ACK)
	return r.s, f
}

// close leaves (if the Session is still active) and stops the fakes.
func (f *fakeRoom) close(t *testing.T, s *Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Leave(ctx); err != nil {
		t.Errorf("Leave: %v", err)
	}
	f.peer.Close()
	f.ln.Close()
	f.focus.stop()
}

// send writes an incoming request to the Session and checks the code it
// is answered with.
func (f *fakeRoom) send(t *testing.T, m *msrp.Message, code int) {
	t.Helper()
	f.peer.Send(m)
	f.peer.ExpectResponse(m.TID, code)
}

// async runs fn on a goroutine; its result arrives on the channel.
func async(fn func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	return ch
}

// result waits for an async result.
func result(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
		return nil
	}
}

// receive waits for the next message on s.Messages().
func receive(t *testing.T, s *Session) Message {
	t.Helper()
	select {
	case m, ok := <-s.Messages():
		if !ok {
			t.Fatal("Messages closed")
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message received")
		return Message{}
	}
}

// pendingCount is the number of requests waiting for a response.
func pendingCount(s *Session) int {
	s.current().conn.pendMu.Lock()
	defer s.current().conn.pendMu.Unlock()
	return len(s.current().conn.pending)
}
