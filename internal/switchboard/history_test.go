package switchboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/cpim"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// fakeHistory is an in-memory History whose acknowledgements a test may
// hold back (hold) and release, or fail (failing).
type fakeHistory struct {
	mu      sync.Mutex
	msgs    map[string][]Stored
	cursors map[string]uint64
	hold    bool
	held    []func()
	failing error
}

func newFakeHistory() *fakeHistory {
	return &fakeHistory{msgs: map[string][]Stored{}, cursors: map[string]uint64{}}
}

func (f *fakeHistory) Append(room string, m Stored, done func(uint64, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing != nil {
		err := f.failing
		go done(0, err)
		return
	}
	m.Seq = uint64(len(f.msgs[room]) + 1)
	m.Body = bytes.Clone(m.Body)
	f.msgs[room] = append(f.msgs[room], m)
	ack := func() { done(m.Seq, nil) }
	if f.hold {
		f.held = append(f.held, ack)
		return
	}
	go ack()
}

func (f *fakeHistory) release() {
	f.mu.Lock()
	held := f.held
	f.held, f.hold = nil, false
	f.mu.Unlock()
	for _, ack := range held {
		ack()
	}
}

func (f *fakeHistory) Last(_ context.Context, room string, n int, _ time.Duration) ([]Stored, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := f.msgs[room]
	return append([]Stored(nil), all[max(0, len(all)-n):]...), nil
}

func (f *fakeHistory) SetCursor(room, participant string, seq uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cursors[room+" "+participant] = max(f.cursors[room+" "+participant], seq)
}

func (f *fakeHistory) Cursor(_ context.Context, room, participant string) (uint64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq, ok := f.cursors[room+" "+participant]
	return seq, ok, nil
}

func (f *fakeHistory) stored(room string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs[room])
}

// joiner is a participant joined to a room that keeps history: its replay
// may come before the 200 to its binding SEND (SessionBound queues it
// before the relay answers), so the copies read while binding are kept.
type joiner struct {
	*party
	early []*msrp.Message
}

// joinH joins uri to roomName and binds over TCP, keeping what arrives
// before the bind's 200.
func (h *harness) joinH(roomName, uri string, opts ...partyOption) *joiner {
	h.t.Helper()
	pt := h.joinUnbound(roomName, uri, opts...)
	pt.Peer = msrptest.Dial(h.t, h.relay.Addr().String(), pt.self)
	b := msrptest.Bodiless(pt.sw, pt.self)
	pt.Send(b)
	j := &joiner{party: pt}
	for {
		m := pt.Expect()
		if m.IsRequest() {
			j.early = append(j.early, m)
			continue
		}
		if m.TID != b.TID || m.Code != msrp.StatusOK {
			h.t.Fatalf("bind answered %s %d", m.TID, m.Code)
		}
		return j
	}
}

// nextSend is the next SEND j got: kept while binding, or read now.
func (j *joiner) nextSend() *msrp.Message {
	j.h.t.Helper()
	if len(j.early) > 0 {
		m := j.early[0]
		j.early = j.early[1:]
		if m.Method != msrp.MethodSEND {
			j.h.t.Fatalf("%s before the bind's 200", m.Method)
		}
		return m
	}
	return j.ExpectRequest(msrp.MethodSEND)
}

// historyOf reads n history copies and returns their CPIM objects with the
// history header checked and taken out again (the original bytes).
func historyOf(t *testing.T, j *joiner, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for range n {
		m := j.nextSend()
		checkCopy(t, j.party, m)
		body := m.Body
		if m.Header.Get(msrp.HeaderByteRange) != "" {
			if br, _, _ := m.ByteRange(); br.Start != 1 || m.EndFlag() != msrp.FlagEnd {
				t.Fatalf("a history copy in pieces: %s", m.Header.Get(msrp.HeaderByteRange))
			}
		}
		cm, err := cpim.Parse(body)
		if err != nil {
			t.Fatalf("history copy: %v\n%s", err, body)
		}
		ns, _ := cm.NS()
		var at string
		for _, h := range cm.Headers {
			if h.Name == HistoryHeader {
				at = h.Value
			}
		}
		if len(ns) != 1 || ns[0].Prefix != "parley" || at == "" {
			t.Fatalf("not marked as history (NS %+v, %s %q):\n%s", ns, HistoryHeader, at, body)
		}
		if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
			t.Errorf("%s: %q is no RFC 3339 date-time", HistoryHeader, at)
		}
		orig := bytes.Replace(body, []byte(HistoryNS+"\r\n"+HistoryHeader+": "+at+"\r\n"), nil, 1)
		out = append(out, orig)
	}
	return out
}

func historyHarness(t *testing.T, size int, h History) *harness {
	pol := defaultPolicy()
	pol.History = size
	pol.SystemMessages = false
	return newHarness(t, pol, func(_ *relay.Config, c *Config) { c.History = h })
}

// A participant who joins gets the room's last messages, oldest first,
// each the sender's CPIM object plus the history header, before any live
// message; private messages and typing indications are not among them;
// the cap applies.
func TestHistoryOnJoin(t *testing.T) {
	st := newFakeHistory()
	h := historyHarness(t, 3, st)
	alice := h.join("r", "sip:alice@x")
	carol := h.join("r", "sip:carol@x")
	var sent [][]byte
	for i := range 4 {
		body := cpimMsg("sip:alice@x", roomURI("r"), "regular "+strconv.Itoa(i))
		m := alice.say(body)
		alice.ExpectResponse(m.TID, msrp.StatusOK)
		carol.expectCopy(body)
		sent = append(sent, body)
	}
	priv := alice.say(cpimMsg("sip:alice@x", "sip:carol@x", "private"))
	alice.ExpectResponse(priv.TID, msrp.StatusOK)
	carol.ExpectRequest(msrp.MethodSEND)
	typing := alice.say(typingCPIM("sip:alice@x", roomURI("r"))) // a status, not a message (RFC 3994)
	alice.ExpectResponse(typing.TID, msrp.StatusOK)
	carol.ExpectRequest(msrp.MethodSEND)

	bob := h.joinH("r", "sip:bob@x")
	got := historyOf(t, bob, 3)
	for i, b := range got {
		if !bytes.Equal(b, sent[i+1]) {
			t.Errorf("history %d = %q, want %q", i, b, sent[i+1])
		}
	}
	live := cpimMsg("sip:alice@x", roomURI("r"), "live")
	m := alice.say(live)
	alice.ExpectResponse(m.TID, msrp.StatusOK)
	bob.expectCopy(live)
	bob.ExpectSilence(50 * time.Millisecond)
	if n := st.stored("r"); n != 5 {
		t.Errorf("%d messages stored, want 5 regular ones", n)
	}
	if s := h.sw.Stats(); s.Replayed != 3 || s.Stored != 5 {
		t.Errorf("Stats: %d replayed, %d stored; want 3 and 5", s.Replayed, s.Stored)
	}
}

// History 0: nothing kept, nothing replayed, nothing stored.
func TestHistoryOff(t *testing.T) {
	st := newFakeHistory()
	h := historyHarness(t, 0, st)
	alice := h.join("r", "sip:alice@x")
	m := alice.say(cpimMsg("sip:alice@x", roomURI("r"), "gone"))
	alice.ExpectResponse(m.TID, msrp.StatusOK)
	bob := h.join("r", "sip:bob@x")
	bob.ExpectSilence(50 * time.Millisecond)
	if n := st.stored("r"); n != 0 {
		t.Errorf("%d stored with history 0", n)
	}
}

// The sender's 200 waits for the store; a store that fails still gets the
// message answered (it was relayed), counted, and the room told once.
func TestHistoryAnswerAfterStore(t *testing.T) {
	st := newFakeHistory()
	st.hold = true
	pol := defaultPolicy()
	pol.History = 10
	pol.SystemMessages = true
	h := newHarness(t, pol, func(_ *relay.Config, c *Config) { c.History = st })
	alice := h.join("r", "sip:alice@x")
	bob := h.join("r", "sip:bob@x")
	alice.ExpectRequest(msrp.MethodSEND) // bob joined
	body := cpimMsg("sip:alice@x", roomURI("r"), "kept?")
	m := alice.say(body)
	bob.expectCopy(body)
	alice.ExpectSilence(100 * time.Millisecond) // no 200 before the store answers
	st.release()
	alice.ExpectResponse(m.TID, msrp.StatusOK)

	st.mu.Lock()
	st.failing = errors.New("store down")
	st.mu.Unlock()
	for i := range 2 {
		body := cpimMsg("sip:alice@x", roomURI("r"), "unkept "+strconv.Itoa(i))
		m := alice.say(body)
		if i == 0 {
			// The store's failure is reported on its own goroutine: the
			// notice may overtake the copy, which the sender's batch
			// holds until its read loop waits.
			var copied, noticed bool
			for !copied || !noticed {
				got := bob.ExpectRequest(msrp.MethodSEND)
				switch {
				case bytes.Equal(got.Body, body):
					checkCopy(t, bob, got)
					copied = true
				case bytes.Contains(got.Body, []byte("History is paused")):
					noticed = true
				default:
					t.Fatalf("bob got %q, want the copy and the notice", got.Body)
				}
			}
		} else {
			bob.expectCopy(body)
		}
		var answered, told bool
		for !answered || (i == 0 && !told) {
			got := alice.Expect()
			switch {
			case !got.IsRequest() && got.TID == m.TID:
				if got.Code != msrp.StatusOK {
					t.Fatalf("answered %d, want 200 (relayed)", got.Code)
				}
				answered = true
			case got.IsRequest() && bytes.Contains(got.Body, []byte("History is paused")):
				told = true
			}
		}
	}
	bob.ExpectSilence(50 * time.Millisecond) // told once only
	if s := h.sw.Stats(); s.NotStored != 2 || s.Stored != 1 {
		t.Errorf("Stats: %d not stored, %d stored; want 2 and 1", s.NotStored, s.Stored)
	}
}

// expectNotice reads the next SEND and checks it is a notice holding text.
func (pt *party) expectNotice(text string) {
	pt.h.t.Helper()
	m := pt.ExpectRequest(msrp.MethodSEND)
	if !bytes.Contains(m.Body, []byte(text)) {
		pt.h.t.Fatalf("want a notice %q, got:\n%s", text, m.Body)
	}
}

// A participant who comes back gets only what it missed since it left.
func TestHistoryCatchUp(t *testing.T) {
	st := newFakeHistory()
	h := historyHarness(t, 20, st)
	alice := h.join("r", "sip:alice@x")
	say := func(text string) []byte {
		body := cpimMsg("sip:alice@x", roomURI("r"), text)
		m := alice.say(body)
		alice.ExpectResponse(m.TID, msrp.StatusOK)
		return body
	}
	say("before bob")
	bob := h.joinH("r", "sip:bob@x")
	historyOf(t, bob, 1)
	seen := say("bob saw this")
	bob.expectCopy(seen)
	bob.leave()
	missed := [][]byte{say("missed 1"), say("missed 2")}
	bob2 := h.joinH("r", "sip:bob@x")
	got := historyOf(t, bob2, 2)
	for i := range got {
		if !bytes.Equal(got[i], missed[i]) {
			t.Errorf("catch-up %d = %q, want %q", i, got[i], missed[i])
		}
	}
	bob2.ExpectSilence(50 * time.Millisecond)
}

// A chunked message is kept whole, once complete, and replayed
// byte-identical; an anonymous sender stays anonymous in history.
func TestHistoryChunkedAndAnonymous(t *testing.T) {
	st := newFakeHistory()
	h := historyHarness(t, 10, st)
	alice := h.join("r", "sip:alice@x")
	anon := h.join("r", "sip:hidden@x", anonymous, func(p *room.Participant) { p.Signalled = "sip:hidden@x" })

	body := cpimMsg("sip:alice@x", roomURI("r"), strings.Repeat("0123456789", 700))
	id := msrp.NewMessageID()
	total := strconv.Itoa(len(body))
	cut := []int{0, 1000, 4000, len(body)}
	for i := 0; i+1 < len(cut); i++ {
		flag := byte(msrp.FlagContinue)
		if i+2 == len(cut) {
			flag = msrp.FlagEnd
		}
		c := msrptest.Send(alice.sw, alice.self, "message/cpim", body[cut[i]:cut[i+1]], msrptest.WithFlag(flag))
		c.Header.Set(msrp.HeaderMessageID, id)
		c.Header.Set(msrp.HeaderByteRange, fmt.Sprintf("%d-%d/%s", cut[i]+1, cut[i+1], total))
		alice.Send(c)
		alice.ExpectResponse(c.TID, msrp.StatusOK)
	}
	for got := 0; got < len(body); {
		got += len(anon.ExpectRequest(msrp.MethodSEND).Body)
	}
	secret := cpimMsg("sip:hidden@x", roomURI("r"), "who am I")
	m := anon.say(secret)
	anon.ExpectResponse(m.TID, msrp.StatusOK)
	alice.ExpectRequest(msrp.MethodSEND)

	bob := h.joinH("r", "sip:bob@x")
	got := historyOf(t, bob, 2)
	if !bytes.Equal(got[0], body) {
		t.Errorf("chunked message replayed as %d octets, want the %d sent", len(got[0]), len(body))
	}
	if bytes.Contains(got[1], []byte("hidden")) || !bytes.Contains(got[1], []byte(anon.p.URI)) {
		t.Errorf("anonymous sender's message in history:\n%s", got[1])
	}
}

// Messages sent while participants join reach each joiner exactly once
// and in order: through replay or live, never both, never neither.
func TestHistoryJoinRace(t *testing.T) {
	st := newFakeHistory()
	const n = 300
	h := historyHarness(t, n, st)
	alice := h.join("r", "sip:alice@x")
	done := make(chan struct{})
	answered := make(chan int, 1)
	go func() {
		defer close(done)
		for i := range n {
			alice.say(cpimMsg("sip:alice@x", roomURI("r"), "m"+strconv.Itoa(i)))
		}
	}()
	go func() { // alice reads her 200s as a client does
		oks := 0
		for oks < n {
			m, err := alice.Next()
			if err != nil {
				break
			}
			if !m.IsRequest() && m.Code == msrp.StatusOK {
				oks++
			}
		}
		answered <- oks
	}()
	// Each joiner reads as it goes (a joiner that did not read would be
	// congested, and its copies dropped, as RFC 7701 §6.4 says).
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		time.Sleep(time.Duration(i) * time.Millisecond)
		j := h.joinH("r", "sip:j"+strconv.Itoa(i)+"@x")
		wg.Go(func() {
			for want := 0; want < n; want++ {
				var m *msrp.Message
				if len(j.early) > 0 {
					m, j.early = j.early[0], j.early[1:]
				} else {
					var err error
					if m, err = j.Next(); err != nil {
						errs <- fmt.Errorf("%s: message %d: %w", j.p.URI, want, err)
						return
					}
				}
				if !m.IsRequest() {
					want--
					continue
				}
				text := "m" + strconv.Itoa(want)
				cm, err := cpim.Parse(m.Body)
				if err != nil || string(cm.Body) != text {
					errs <- fmt.Errorf("%s: message %d is %q, want %q", j.p.URI, want, cm.Body, text)
					return
				}
			}
			j.Timeout = 20 * time.Millisecond
			if m, err := j.Next(); err == nil {
				errs <- fmt.Errorf("%s: one more message after all %d: %s", j.p.URI, n, m.Body)
			}
		})
	}
	<-done
	wg.Wait()
	if oks := <-answered; oks != n {
		t.Errorf("alice got %d 200s, want %d", oks, n)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s := h.sw.Stats(); s.DroppedCongested != 0 || t.Failed() {
		t.Errorf("%d copies dropped: the test did not read fast enough to tell; %+v; relay %+v", s.DroppedCongested, s, h.relay.Stats())
	}
}

// A participant whose session binds after a message was pushed into the
// ring but before its copies went out gets it once, through replay: the
// fan-out skips it.
func TestHistoryBindBetweenKeepAndFanOut(t *testing.T) {
	st := newFakeHistory()
	h := historyHarness(t, 10, st)
	alice := h.join("r", "sip:alice@x")
	bob := h.joinUnbound("r", "sip:bob@x")
	var once sync.Once
	bound := make(chan *joiner, 1)
	h.sw.afterKeep = func() {
		once.Do(func() {
			// Bind bob now, on his own connection, and wait until he is a
			// recipient.
			go func() {
				pt := bob
				pt.Peer = msrptest.Dial(t, h.relay.Addr().String(), pt.self)
				b := msrptest.Bodiless(pt.sw, pt.self)
				pt.Send(b)
				bound <- &joiner{party: pt}
			}()
			waitFor(t, "bob's binding", func() bool {
				m := h.sw.member(bob)
				return m != nil && m.link.Load() != nil
			})
		})
	}
	body := cpimMsg("sip:alice@x", roomURI("r"), "just in time")
	m := alice.say(body)
	alice.ExpectResponse(m.TID, msrp.StatusOK)
	j := <-bound
	j.Timeout = 200 * time.Millisecond
	var copies int
	for {
		got, err := j.Next()
		if err != nil {
			break
		}
		if got.IsRequest() && got.Method == msrp.MethodSEND && bytes.Contains(got.Body, []byte("just in time")) {
			copies++
		}
	}
	if copies != 1 {
		t.Fatalf("bob got the message %d times, want once", copies)
	}
}

// member returns pt's member in the switch, or nil.
func (s *Switch) member(pt *party) *member {
	s.mu.Lock()
	rs := s.rooms[pt.hd.rm]
	s.mu.Unlock()
	if rs == nil {
		return nil
	}
	return rs.members().mem[pt.p]
}

// TestHistoryJoinBetweenSnapshotAndKeep: a participant that joins and
// binds after a message's recipients were decided but before it is kept
// is no recipient and its replay came too early: it gets the message once
// all the same (sendLateBinders). CI caught this once in
// TestHistoryJoinRace; this makes it happen every time.
func TestHistoryJoinBetweenSnapshotAndKeep(t *testing.T) {
	st := newFakeHistory()
	h := historyHarness(t, 10, st)
	alice := h.join("r", "sip:alice@x")
	var once sync.Once
	joined := make(chan *party, 1)
	h.sw.afterSnapshot = func() {
		once.Do(func() { joined <- h.join("r", "sip:carol@x") })
	}
	body := cpimMsg("sip:alice@x", roomURI("r"), "in the gap")
	m := alice.say(body)
	alice.ExpectResponse(m.TID, msrp.StatusOK)
	carol := <-joined
	carol.Timeout = 200 * time.Millisecond
	copies := 0
	for {
		got, err := carol.Next()
		if err != nil {
			break
		}
		if got.IsRequest() && got.Method == msrp.MethodSEND && bytes.Contains(got.Body, []byte("in the gap")) {
			copies++
		}
	}
	if copies != 1 {
		t.Fatalf("carol got the message %d times, want once", copies)
	}
}
