package conference

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-im/parley/confinfo"
	"github.com/parley-im/parley/internal/room"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSender records the NOTIFYs of every subscription and plays the
// subscriber: each body is validated, round-tripped and applied (RFC 4575
// §4.6) to the subscriber's copy. done is called at once, after a delay,
// with false for failing handles, or held for the test to release.
type fakeSender struct {
	mu    sync.Mutex
	subs  map[any]*subscriber
	fail  map[any]bool
	hold  bool
	held  []func(bool)
	delay func() time.Duration // nil: done at once
	errs  []string
	sent  int
}

// subscriber is what the fake knows of one subscription.
type subscriber struct {
	notifies []Notify
	docs     []*confinfo.ConferenceInfo
	view     *confinfo.ConferenceInfo // the merged copy
	inFlight int
	ended    bool // a terminated NOTIFY arrived
}

func newFake() *fakeSender {
	return &fakeSender{subs: make(map[any]*subscriber), fail: make(map[any]bool)}
}

func (f *fakeSender) errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeSender) SendNotify(handle any, n Notify, done func(ok bool)) {
	f.mu.Lock()
	f.sent++
	s := f.subs[handle]
	if s == nil {
		s = &subscriber{view: new(confinfo.ConferenceInfo)}
		f.subs[handle] = s
	}
	if s.inFlight > 0 {
		f.errorf("%v: NOTIFY %d while one is in flight", handle, len(s.notifies)+1)
	}
	if s.ended {
		f.errorf("%v: NOTIFY after the final one", handle)
	}
	s.inFlight++
	s.notifies = append(s.notifies, n)
	f.check(handle, s, n)
	fail, hold := f.fail[handle], f.hold
	var delay time.Duration
	if f.delay != nil {
		delay = f.delay()
	}
	finish := func(ok bool) {
		f.mu.Lock()
		s.inFlight--
		f.mu.Unlock()
		done(ok)
	}
	switch {
	case hold:
		f.held = append(f.held, finish)
		f.mu.Unlock()
	case delay > 0:
		f.mu.Unlock()
		time.AfterFunc(delay, func() { finish(!fail) })
	default:
		f.mu.Unlock()
		finish(!fail)
	}
}

// check validates one NOTIFY and applies its body. Under f.mu.
func (f *fakeSender) check(handle any, s *subscriber, n Notify) {
	if n.Terminated {
		s.ended = true
		if n.Reason == "" {
			f.errorf("%v: terminated without reason", handle)
		}
		if n.Expires != 0 {
			f.errorf("%v: terminated with expires %v", handle, n.Expires)
		}
	} else if n.Expires <= 0 || n.Expires%time.Second != 0 {
		f.errorf("%v: active with expires %v", handle, n.Expires)
	}
	c, err := confinfo.Parse(n.Body)
	if err != nil {
		f.errorf("%v: Parse: %v\n%s", handle, err, n.Body)
		return
	}
	if err := c.Validate(); err != nil {
		f.errorf("%v: Validate: %v\n%s", handle, err, n.Body)
	}
	again, err := c.Marshal()
	if err != nil {
		f.errorf("%v: Marshal: %v", handle, err)
	} else if c2, err := confinfo.Parse(again); err != nil || !reflect.DeepEqual(c, c2) {
		f.errorf("%v: round trip: %v\n%s\n%s", handle, err, n.Body, again)
	}
	want := uint32(len(s.notifies))
	if c.Version != want {
		f.errorf("%v: NOTIFY %d has version %d", handle, want, c.Version)
	}
	if want == 1 && c.State != confinfo.StateFull {
		f.errorf("%v: first NOTIFY is %s", handle, c.State)
	}
	s.docs = append(s.docs, c)
	parsed, _ := confinfo.Parse(n.Body) // Apply takes ownership
	if err := s.view.Apply(parsed); err != nil {
		f.errorf("%v: Apply version %d: %v", handle, c.Version, err)
	}
}

// release calls the done callbacks held now (with ok); those of NOTIFYs
// they trigger are held, if hold is still set.
func (f *fakeSender) release(ok bool) {
	f.mu.Lock()
	held := f.held
	f.held = nil
	f.mu.Unlock()
	for _, done := range held {
		done(ok)
	}
}

// drain releases held callbacks until none is left.
func (f *fakeSender) drain() {
	for {
		f.mu.Lock()
		left := len(f.held)
		f.mu.Unlock()
		if left == 0 {
			return
		}
		f.release(true)
	}
}

func (f *fakeSender) setHold(hold bool) {
	f.mu.Lock()
	f.hold = hold
	f.mu.Unlock()
}

func (f *fakeSender) setFail(handle any) {
	f.mu.Lock()
	f.fail[handle] = true
	f.mu.Unlock()
}

// notifies returns a copy of what handle got.
func (f *fakeSender) notifies(handle any) []Notify {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.subs[handle]; s != nil {
		return slices.Clone(s.notifies)
	}
	return nil
}

func (f *fakeSender) count(handle any) int { return len(f.notifies(handle)) }

// doc returns the i-th document handle got (from 0).
func (f *fakeSender) doc(handle any, i int) *confinfo.ConferenceInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs[handle].docs[i]
}

// viewOf returns handle's merged view, normalized and encoded.
func (f *fakeSender) viewOf(handle any) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.subs[handle]
	if s == nil {
		return ""
	}
	return normalize(s.view)
}

func (f *fakeSender) idle(handle any) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.subs[handle]
	return s != nil && s.inFlight == 0
}

// verify fails t with every violation seen.
func (f *fakeSender) verify(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.errs {
		t.Error(e)
	}
	f.errs = nil
}

// normalize encodes c without what differs between a merged view and a
// fresh full document of the same state: the version and the order of
// users (a user replaced by a partial keeps its place; in a full
// document it is where it joined).
func normalize(c *confinfo.ConferenceInfo) string {
	if c == nil || c.Users == nil {
		return fmt.Sprintf("%+v", c)
	}
	cc := *c
	cc.Version, cc.State = 0, confinfo.StateFull
	users := *c.Users
	users.State = ""
	users.Users = slices.Clone(users.Users)
	slices.SortFunc(users.Users, func(a, b confinfo.User) int { return strings.Compare(a.Entity, b.Entity) })
	for i := range users.Users {
		users.Users[i].State = confinfo.StateFull
	}
	cc.Users = &users
	b, err := cc.Marshal()
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// probe returns the full document a new subscriber of rm gets now,
// normalized, and ends that subscription.
func probe(t testing.TB, n *Notifier, f *fakeSender, rm *room.Room, entity string) string {
	t.Helper()
	h := fmt.Sprintf("probe-%p-%d", f, time.Now().UnixNano())
	s := n.Subscribe(rm, entity, h, time.Hour)
	if f.count(h) < 1 {
		t.Fatalf("probe: no NOTIFY")
	}
	c := f.doc(h, 0)
	s.Unsubscribe()
	return normalize(c)
}

// waitFor polls cond every 2 ms for up to 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitConverged waits until handle's merged view equals a fresh full
// document of rm.
func waitConverged(t testing.TB, n *Notifier, f *fakeSender, rm *room.Room, entity string, handle any) {
	t.Helper()
	var want, got string
	deadline := time.Now().Add(5 * time.Second)
	for {
		want = probe(t, n, f, rm, entity)
		got = f.viewOf(handle)
		if got == want && f.idle(handle) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: merged view does not converge\ngot:\n%s\nwant:\n%s", handle, got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newTest returns a Notifier with a fake sender, shut down at the end of
// the test, which also checks every NOTIFY the fake saw.
func newTest(t *testing.T, interval time.Duration) (*Notifier, *fakeSender) {
	t.Helper()
	f := newFake()
	n := New(Config{Sender: f, Interval: interval})
	t.Cleanup(func() {
		f.setHold(false)
		f.drain()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
		f.drain()
		f.verify(t)
	})
	return n, f
}

func newRoom(name, subject string) *room.Room {
	rm := &room.Room{Name: name}
	rm.SetPolicy(room.Policy{Subject: subject})
	return rm
}

// participant returns a participant of user uri on device ep.
func participant(id, uri, ep, display string) *room.Participant {
	return &room.Participant{ID: id, URI: uri, Endpoint: ep, Display: display}
}

// partialUsers returns the users of a partial document.
func partialUsers(t testing.TB, c *confinfo.ConferenceInfo) []confinfo.User {
	t.Helper()
	if c.State != confinfo.StatePartial || c.Users == nil || c.Users.State != confinfo.StatePartial {
		t.Fatalf("not a partial document with partial users: %+v", c)
	}
	return c.Users.Users
}

// bodyHas reports whether any NOTIFY body of handle contains s.
func bodyHas(ns []Notify, s string) bool {
	for _, n := range ns {
		if bytes.Contains(n.Body, []byte(s)) {
			return true
		}
	}
	return false
}
