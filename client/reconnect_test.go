package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/certs"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
)

// The waits are the capped exponential backoff, less the jitter drawn:
// with the random source at 0 the whole wait, near 1 a (1−Jitter) part of
// it, never above MaxDelay.
func TestReconnectWait(t *testing.T) {
	draw := 0.0
	p, err := Reconnect{Enabled: true, Delay: 100 * time.Millisecond, MaxDelay: time.Second, Jitter: 0.5}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	p.rand = func() float64 { return draw }
	ms := time.Millisecond
	for n, want := range []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1000 * ms, 1000 * ms, 1000 * ms} {
		if got := p.wait(n + 1); got != want {
			t.Errorf("wait(%d) without jitter = %v, want %v", n+1, got, want)
		}
	}
	draw = 0.999999
	for n, want := range []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 500 * ms, 500 * ms} {
		if got := p.wait(n + 1); got < want || got > want+ms {
			t.Errorf("wait(%d) with the most jitter = %v, want %v", n+1, got, want)
		}
	}
	draw = 0.5
	if got := p.wait(1000); got != 750*ms { // no overflow on a long run
		t.Errorf("wait(1000) = %v, want 750ms", got)
	}

	// Defaults, and what is refused.
	d, err := Reconnect{Enabled: true}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if d.delay != DefaultReconnectDelay || d.max != DefaultReconnectMaxDelay || d.jitter != DefaultReconnectJitter || d.maxAttempts != DefaultReconnectAttempts {
		t.Errorf("defaults: %+v", d)
	}
	d, _ = Reconnect{Delay: time.Minute, MaxDelay: time.Second, Jitter: -1, MaxAttempts: -1}.resolve()
	if d.delay != time.Second || d.jitter != 0 || d.maxAttempts != 0 {
		t.Errorf("Delay above MaxDelay, no jitter, no limit: %+v", d)
	}
	if _, err := (Options{From: "sip:a@example.com", Reconnect: Reconnect{Jitter: 1.5}}).resolve(sip.Uri{Scheme: "sip", Host: "example.com"}); !errors.Is(err, errOptions) {
		t.Errorf("Jitter 1.5: %v", err)
	}
}

func TestParseReason(t *testing.T) {
	cases := []struct {
		headers []string
		want    *ByeReason
	}{
		{nil, nil},
		{[]string{`SIP ;cause=503 ;text="Server shutting down"`}, &ByeReason{"SIP", 503, "Server shutting down"}},
		{[]string{`SIP;cause=410;text="Room; \"deleted\""`}, &ByeReason{"SIP", 410, `Room; "deleted"`}},
		{[]string{`Q.850;cause=16, SIP;cause=200;text="done, elsewhere"`}, &ByeReason{"SIP", 200, "done, elsewhere"}},
		{[]string{`Q.850;cause=16`}, &ByeReason{"Q.850", 16, ""}},
		{[]string{`Q.850;cause=16`, `SIP;cause=503`}, &ByeReason{"SIP", 503, ""}},
	}
	for _, c := range cases {
		req := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", Host: "example.com"})
		for _, h := range c.headers {
			req.AppendHeader(sip.NewHeader("Reason", h))
		}
		got := parseReason(req)
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("Reason %q: %+v, want %+v", c.headers, got, c.want)
		}
	}
	if !(&ByeReason{"sip", 503, ""}).shutdown() || (&ByeReason{"SIP", 410, ""}).shutdown() || (&ByeReason{"Q.850", 503, ""}).shutdown() {
		t.Error("shutdown() wrong")
	}
	if got := (&ByeReason{"SIP", 410, "Room deleted"}).Error(); got != "Room deleted (SIP cause 410)" {
		t.Errorf("Error() = %q", got)
	}
}

// restartable is an in-process parleyd that can be stopped and started
// again on the same ports and data directory.
type restartable struct {
	t      *testing.T
	dir    string
	mutate func(*config.Config)
	srv    *server.Server
	addrs  server.Addrs
}

// startRestartable starts a parleyd keeping its history in a file store
// in a temporary directory, on loopback ports of its own choosing.
func startRestartable(t *testing.T, mutate func(*config.Config)) *restartable {
	r := &restartable{t: t, dir: t.TempDir(), mutate: mutate}
	r.start()
	return r
}

// start starts the server, on the ports it had before if it ran already:
// a port just released may be briefly unavailable, so binding is retried.
func (r *restartable) start() {
	r.t.Helper()
	cfg := config.Default()
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if r.addrs.SIPTCP != "" {
		cfg.SIP.UDP, cfg.SIP.TCP, cfg.MSRP.Listen = r.addrs.SIPUDP, r.addrs.SIPTCP, r.addrs.MSRP
	}
	cfg.SIP.TLS, cfg.MSRP.TLSListen, cfg.HTTPS.Listen = "", "", ""
	cfg.Store.Mode, cfg.Server.DataDir = config.StoreFile, r.dir
	cfg.SIP.NotifyInterval = config.Duration(100 * time.Millisecond)
	if r.mutate != nil {
		r.mutate(cfg)
	}
	var err error
	for range 50 {
		if r.srv, err = server.New(cfg, testLog(r.t)); err == nil || !strings.Contains(err.Error(), "in use") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv.Start()
	r.addrs = r.srv.Addrs()
}

// stop shuts the server down gracefully: a BYE with Reason cause 503 to
// every participant.
func (r *restartable) stop() {
	r.t.Helper()
	if r.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		r.t.Errorf("server shutdown: %v", err)
	}
	r.srv = nil
}

func (r *restartable) room(name string) string { return "sip:" + name + "@" + r.addrs.SIPTCP }

// reconnecting is alice's options with reconnecting on and short waits.
func reconnecting(t *testing.T, user string) Options {
	o := opts(t, user, "tcp")
	o.Reconnect = Reconnect{Enabled: true, Delay: 50 * time.Millisecond, MaxDelay: 400 * time.Millisecond}
	return o
}

// nextReconnect waits for s's next reconnection event.
func nextReconnect(t *testing.T, s *Session, within time.Duration) ReconnectEvent {
	t.Helper()
	select {
	case ev, ok := <-s.ReconnectEvents():
		if !ok {
			t.Fatalf("no reconnection event: the session ended: %v", s.Err())
		}
		return ev
	case <-time.After(within):
		t.Fatalf("no reconnection event within %v", within)
	}
	return ReconnectEvent{}
}

// awaitReconnected reads s's reconnection events until Reconnected,
// failing on ReconnectFailed.
func awaitReconnected(t *testing.T, s *Session, within time.Duration) ReconnectEvent {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ev := nextReconnect(t, s, time.Until(deadline))
		switch ev.Kind {
		case Reconnected:
			return ev
		case ReconnectFailed:
			t.Fatalf("reconnecting failed: %v", ev.Err)
		}
	}
}

// chatTexts reads s's messages until it has got every one of want (regular
// messages from the room's participants, system notices skipped), and
// returns them as received.
func chatTexts(t *testing.T, s *Session, want ...string) []Message {
	t.Helper()
	need := map[string]bool{}
	for _, w := range want {
		need[w] = true
	}
	var got []Message
	for len(need) > 0 {
		m := recv(t, s)
		if m.System {
			continue
		}
		delete(need, string(m.Body))
		got = append(got, m)
	}
	return got
}

// The judged test of issue 16's reconnect: parleyd restarted under two
// connected sessions. Shut down gracefully (BYE with Reason cause 503), it
// is started again on the same ports and data directory; a third
// participant joins it and sends while the two are away; both are back in
// the room within 5 s of the shutdown and get those messages, marked as
// history, before the live ones. (Their attempts are held until the
// messages are sent: only so that the messages are surely sent while
// they are away. The waits are the default policy's.)
func TestReconnectAfterRestart(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := startRestartable(t, nil)
	defer r.stop()
	ctx := testCtx(t)
	room := r.room("kept")

	held := make(chan struct{})
	hold := func(d time.Duration) <-chan time.Time {
		select {
		case <-held:
		case <-time.After(10 * time.Second):
		}
		return time.After(d)
	}
	join := func(user string) *Session {
		o := opts(t, user, "tcp")
		o.Reconnect = Reconnect{Enabled: true}
		o.reconnectAfter = hold
		s, err := Join(ctx, room, o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	alice, bob := join("alice"), join("bob")
	defer alice.Leave(ctx)
	defer bob.Leave(ctx)
	if err := alice.SetNickname(ctx, "ally"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Send(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	chatTexts(t, bob, "before")

	began := time.Now()
	r.stop()
	for _, s := range []*Session{alice, bob} {
		ev := nextReconnect(t, s, 5*time.Second)
		var br *ByeReason
		if ev.Kind != Reconnecting || ev.Attempt != 1 || !errors.As(ev.Err, &br) || br.Cause != 503 || !errors.Is(ev.Err, ErrEndedByFocus) {
			t.Fatalf("after the shutdown: %+v (%v)", ev, ev.Err)
		}
		if err := s.Send(ctx, "while away"); !errors.Is(err, ErrReconnecting) {
			t.Errorf("Send while reconnecting: %v, want ErrReconnecting", err)
		}
		if isDone(s) || s.Err() != nil {
			t.Fatalf("the session ended: %v", s.Err())
		}
	}
	r.start()
	carol, err := Join(ctx, room, opts(t, "carol", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Leave(ctx)
	missed := []string{"missed one", "missed two"}
	for _, text := range missed {
		if err := carol.Send(ctx, text); err != nil {
			t.Fatal(err)
		}
	}
	close(held)

	for _, s := range []*Session{alice, bob} {
		ev := awaitReconnected(t, s, 5*time.Second-time.Since(began))
		if ev.NicknameErr != nil {
			t.Errorf("%s: nickname not taken again: %v", s.cfg.fromURI, ev.NicknameErr)
		}
	}
	if back := time.Since(began); back > 5*time.Second {
		t.Errorf("back in the room %v after the shutdown, want within 5 s", back)
	}
	t.Logf("both back %v after the shutdown began", time.Since(began))

	if err := carol.Send(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{alice, bob} {
		got := chatTexts(t, s, "missed one", "missed two", "live")
		if len(got) != 3 {
			t.Fatalf("%s got %d messages, want the two missed and the live one only: %+v", s.cfg.fromURI, len(got), got)
		}
		for i, m := range got {
			switch {
			case i < 2 && (string(m.Body) != missed[i] || m.History.IsZero() || m.History.Before(began)):
				t.Errorf("%s: message %d %q (History %v), want %q as history", s.cfg.fromURI, i, m.Body, m.History, missed[i])
			case i == 2 && (string(m.Body) != "live" || !m.History.IsZero()):
				t.Errorf("%s: message %d %q (History %v), want the live one", s.cfg.fromURI, i, m.Body, m.History)
			}
		}
	}
	// Back for good: alice's messages reach bob, under her nickname again.
	if err := alice.Send(ctx, "hello again"); err != nil {
		t.Fatal(err)
	}
	if m := chatTexts(t, bob, "hello again"); m[0].FromDisplay != "ally" {
		t.Errorf("alice's message after the reconnection shows %q, want her nickname", m[0].FromDisplay)
	}
	waitRoster(t, alice, "alice's nickname in the new roster", func(ms []Member) bool {
		return len(ms) > 0 && func() bool {
			for _, m := range ms {
				if m.URI == "sip:alice@example.com" && m.Nickname == "ally" {
					return true
				}
			}
			return false
		}()
	})
}

// A lost MSRP connection is a reason to come back: closed on our side
// (the read fails), or half-closed so that the switch sees it end and
// the focus sends its BYE without a Reason after the connection ended.
// The Messages channel keeps flowing.
func TestReconnectAfterConnectionLost(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, nil)
	defer stop()
	ctx := testCtx(t)
	room := roomURI(srv, "tcp", "lobby")
	bob := joinTCP(t, ctx, room, "bob", nil)
	o := reconnecting(t, "alice")
	o.lostGrace = 5 * time.Second // the focus's BYE must win
	alice, err := Join(ctx, room, o)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Leave(ctx)
	msgs := alice.Messages()

	for i, kill := range []func(*net.TCPConn) error{(*net.TCPConn).Close, (*net.TCPConn).CloseWrite} {
		first := alice.LocalURI()
		if err := kill(alice.current().conn.nc.(*net.TCPConn)); err != nil {
			t.Fatal(err)
		}
		ev := nextReconnect(t, alice, 5*time.Second)
		if ev.Kind != Reconnecting || ev.Attempt != 1 {
			t.Fatalf("%d: %+v", i, ev)
		}
		// Closed on our side, the focus's BYE may come before we end the
		// leg; half-closed, it comes after the switch closed its side.
		if !errors.Is(ev.Err, ErrConnectionLost) || (i == 1 && !errors.Is(ev.Err, ErrEndedByFocus)) {
			t.Errorf("%d: %v, want ErrConnectionLost (and then the focus's BYE)", i, ev.Err)
		}
		awaitReconnected(t, alice, 5*time.Second)
		if alice.LocalURI() == first {
			t.Errorf("%d: the same MSRP session after reconnecting", i)
		}
		text := "hello " + string(rune('a'+i))
		if err := bob.Send(ctx, text); err != nil {
			t.Fatal(err)
		}
		if alice.Messages() != msgs {
			t.Fatal("a new Messages channel")
		}
		if m := recvChat(t, alice); string(m.Body) != text {
			t.Errorf("%d: alice got %q, want %q", i, m.Body, text)
		}
		if err := alice.Send(ctx, "back "+text); err != nil {
			t.Errorf("%d: Send after reconnecting: %v", i, err)
		}
	}
	if err := alice.Leave(ctx); err != nil || alice.Err() != nil {
		t.Errorf("Leave: %v, Err %v", err, alice.Err())
	}
	if _, ok := <-alice.ReconnectEvents(); ok {
		// (buffered events would be read here; none is expected)
		t.Error("an event after Leave")
	}
}

// A participant removed on purpose does not come back: a BYE with
// Reason cause 410 (its ad hoc room deleted when its creator left) ends
// the Session with an error saying so, without any attempt.
func TestNoReconnectWhenRoomDeleted(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := startServer(t, func(c *config.Config) { c.Rooms.DeleteWhen = config.DeleteCreatorLeaves })
	defer stop()
	ctx := testCtx(t)
	room := roomURI(srv, "tcp", "doomed")
	creator, err := Join(ctx, room, opts(t, "bob", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	alice, err := Join(ctx, room, reconnecting(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Leave(ctx)
	if err := creator.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	waitDone(t, alice)
	var br *ByeReason
	if err := alice.Err(); !errors.Is(err, ErrEndedByFocus) || !errors.As(err, &br) || br.Cause != 410 || !strings.Contains(err.Error(), "Room deleted") {
		t.Errorf("Err() = %v, want the focus's BYE with cause 410", err)
	}
	for ev := range alice.ReconnectEvents() {
		t.Errorf("reconnection event %+v", ev)
	}
}

// Leave while the Session waits to reconnect ends the wait at once; Send
// meanwhile says it is reconnecting.
func TestLeaveWhileReconnecting(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := startRestartable(t, nil)
	defer r.stop()
	ctx := testCtx(t)
	o := reconnecting(t, "alice")
	o.Reconnect.Delay = time.Hour
	o.Reconnect.MaxDelay = time.Hour
	o.Reconnect.Jitter = -1
	alice, err := Join(ctx, r.room("lobby"), o)
	if err != nil {
		t.Fatal(err)
	}
	r.stop()
	if ev := nextReconnect(t, alice, 5*time.Second); ev.Kind != Reconnecting || ev.Delay != time.Hour {
		t.Fatalf("after the shutdown: %+v", ev)
	}
	if err := alice.SetNickname(ctx, "x"); !errors.Is(err, ErrReconnecting) {
		t.Errorf("SetNickname while reconnecting: %v", err)
	}
	began := time.Now()
	if err := alice.Leave(ctx); err != nil {
		t.Errorf("Leave: %v", err)
	}
	if d := time.Since(began); d > 500*time.Millisecond {
		t.Errorf("Leave took %v", d)
	}
	if !isDone(alice) || alice.Err() != nil {
		t.Errorf("after Leave: done %v, Err %v", isDone(alice), alice.Err())
	}
	if err := alice.Send(ctx, "x"); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("Send after Leave: %v", err)
	}
}

// Leave while an attempt is under way (a server that takes the connection
// and never answers: no provisional response, so no CANCEL may be sent)
// returns when its ctx ends, and the Session ends within the Timeout that
// bounds the abandoned INVITE.
func TestLeaveDuringAttempt(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := startRestartable(t, nil)
	ctx := testCtx(t)
	o := reconnecting(t, "alice")
	o.Timeout = time.Second
	alice, err := Join(ctx, r.room("lobby"), o)
	if err != nil {
		t.Fatal(err)
	}
	r.stop()
	mute, err := net.Listen("tcp", r.addrs.SIPTCP) // accepts, never answers
	if err != nil {
		t.Skipf("the SIP port is taken: %v", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer mute.Close()
	wg.Go(func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	})
	nextReconnect(t, alice, 5*time.Second)
	time.Sleep(200 * time.Millisecond) // the attempt's INVITE is pending
	began := time.Now()
	lctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := alice.Leave(lctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Leave: %v", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("Leave took %v", d)
	}
	waitDone(t, alice)
	if d := time.Since(began); d > 2*time.Second || alice.Err() != nil {
		t.Errorf("ended %v after Leave, Err %v", d, alice.Err())
	}
}

// Reconnecting gives up after MaxAttempts failures that may pass (nothing
// listens any more), and at once on an answer that will not change (the
// restarted server serves configured rooms only: 404).
func TestReconnectGivesUp(t *testing.T) {
	defer goleak.VerifyNone(t)
	configured := false
	r := startRestartable(t, func(c *config.Config) {
		if configured {
			c.Rooms.Mode = config.ModeConfigured
		}
	})
	defer r.stop()
	ctx := testCtx(t)
	o := reconnecting(t, "alice")
	o.Reconnect.MaxAttempts = 2
	alice, err := Join(ctx, r.room("lobby"), o)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := Join(ctx, r.room("lobby"), reconnecting(t, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	r.stop()
	var kinds []ReconnectEventKind
	for ev := range alice.ReconnectEvents() {
		kinds = append(kinds, ev.Kind)
		if ev.Kind == ReconnectFailed && ev.Attempt != 2 {
			t.Errorf("gave up after attempt %d, want 2", ev.Attempt)
		}
	}
	if len(kinds) != 3 || kinds[0] != Reconnecting || kinds[1] != Reconnecting || kinds[2] != ReconnectFailed {
		t.Errorf("events %v, want two attempts and the failure", kinds)
	}
	if err := alice.Err(); !errors.Is(err, ErrReconnectFailed) || !errors.Is(err, ErrEndedByFocus) {
		t.Errorf("Err() = %v, want ErrReconnectFailed after the shutdown", err)
	}

	configured = true
	r.start()
	ev := awaitFailed(t, bob)
	var se *SIPError
	if !errors.As(ev.Err, &se) || se.Code != 404 {
		t.Errorf("bob gave up on %v, want 404", ev.Err)
	}
	if !errors.As(bob.Err(), &se) || !errors.Is(bob.Err(), ErrReconnectFailed) {
		t.Errorf("bob's Err() = %v", bob.Err())
	}
	// What ErrReconnectFailed wraps, in order: itself, the last failure,
	// the first cause (parley's words rely on it).
	if u, ok := bob.Err().(interface{ Unwrap() []error }); !ok || len(u.Unwrap()) != 3 || u.Unwrap()[0] != ErrReconnectFailed ||
		!errors.As(u.Unwrap()[1], &se) || !errors.Is(u.Unwrap()[2], ErrEndedByFocus) {
		t.Errorf("bob's Err() wraps %#v", bob.Err())
	}
}

func awaitFailed(t *testing.T, s *Session) ReconnectEvent {
	t.Helper()
	for {
		ev := nextReconnect(t, s, 10*time.Second)
		if ev.Kind == ReconnectFailed {
			waitDone(t, s)
			return ev
		}
	}
}

// Every transport comes back after a restart: UDP (from a fixed local
// port, bound again by the new leg), TLS and the WebSockets, whose SIP
// connection is a new one.
func TestReconnectTransports(t *testing.T) {
	defer goleak.VerifyNone(t)
	var r *restartable
	r = startRestartable(t, func(c *config.Config) {
		c.SIP.TLS, c.MSRP.TLSListen, c.HTTPS.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		if r != nil && r.addrs.SIPTLS != "" {
			c.SIP.TLS, c.MSRP.TLSListen, c.HTTPS.Listen = r.addrs.SIPTLS, r.addrs.MSRPTLS, r.addrs.HTTPS
		}
	})
	defer r.stop()
	st, err := certs.Load(filepath.Join(r.dir, certs.SelfSignedCert), filepath.Join(r.dir, certs.SelfSignedKey))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(st.Certificate().Leaf)
	ctx := testCtx(t)
	var ss []*Session
	for _, tr := range []string{"udp", "tls", "ws"} {
		o := reconnecting(t, "alice-"+tr)
		o.Transport = tr
		room := "sip:lobby@" + r.addrs.SIPUDP
		switch tr {
		case "udp":
			l, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			o.LocalAddr = l.LocalAddr().String()
			l.Close()
		case "tls":
			o.TLS, room = &tls.Config{RootCAs: roots}, "sips:lobby@"+r.addrs.SIPTLS
		case "ws":
			o.TLS, o.WebSocketURL, room = &tls.Config{RootCAs: roots}, "wss://"+r.addrs.HTTPS+"/", "sip:lobby@127.0.0.1"
		}
		s, err := Join(ctx, room, o)
		if err != nil {
			t.Fatal(tr, err)
		}
		defer s.Leave(ctx)
		ss = append(ss, s)
	}
	r.stop()
	r.start()
	for _, s := range ss {
		awaitReconnected(t, s, 5*time.Second)
		if err := s.Send(ctx, "back over "+s.cfg.transport); err != nil {
			t.Errorf("%s: %v", s.cfg.transport, err)
		}
	}
}
