package focus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/confinfo"
	"github.com/parley-im/parley/internal/conference"
	"github.com/parley-im/parley/internal/room"
)

// withConference gives the focus a conference notifier (interval: the
// least time between two NOTIFYs to one subscriber) that sends through it.
func withConference(interval time.Duration) envOpt {
	return func(c *Config) {
		var f *Focus
		n := conference.New(conference.Config{
			Sender:   senderFunc(func(h any, n conference.Notify, done func(bool)) { f.SendNotify(h, n, done) }),
			Interval: interval,
		})
		c.Conference = n
		c.Roster = n
		c.NotifyTimeout = 2 * time.Second
		c.afterNew = func(x *Focus) { f = x }
	}
}

type senderFunc func(any, conference.Notify, func(bool))

func (s senderFunc) SendNotify(h any, n conference.Notify, done func(bool)) { s(h, n, done) }

// subscribe sends a SUBSCRIBE to roomName (toTag "" for a new dialog).
func (p *peer) subscribe(roomName, toTag string, headers ...sip.Header) *sip.Response {
	p.t.Helper()
	req := p.request(sip.SUBSCRIBE, roomName, toTag)
	req.AppendHeader(sip.NewHeader("Event", "conference"))
	for _, h := range headers {
		req.AppendHeader(h)
	}
	p.cseq++
	return p.do(req)
}

// notify waits for the next NOTIFY and parses its document.
func (p *peer) notify() (*sip.Request, *confinfo.ConferenceInfo) {
	p.t.Helper()
	select {
	case req := <-p.notifies:
		if ev := req.GetHeader("Event"); ev == nil || ev.Value() != "conference" {
			p.t.Fatalf("NOTIFY Event = %v", ev)
		}
		if len(req.Body()) == 0 {
			return req, nil
		}
		if ct := req.ContentType(); ct == nil || ct.Value() != "application/conference-info+xml" {
			p.t.Fatalf("NOTIFY Content-Type = %v", ct)
		}
		doc, err := confinfo.Parse(req.Body())
		if err != nil {
			p.t.Fatalf("NOTIFY body: %v\n%s", err, req.Body())
		}
		if err := doc.Validate(); err != nil {
			p.t.Fatalf("NOTIFY body invalid: %v\n%s", err, req.Body())
		}
		return req, doc
	case <-time.After(5 * time.Second):
		p.t.Fatal("no NOTIFY")
		return nil, nil
	}
}

func (p *peer) noNotify(d time.Duration) {
	p.t.Helper()
	select {
	case req := <-p.notifies:
		p.t.Fatalf("unexpected NOTIFY:\n%s", req)
	case <-time.After(d):
	}
}

func subState(req *sip.Request) string {
	if h := req.GetHeader("Subscription-State"); h != nil {
		return h.Value()
	}
	return ""
}

func header(res *sip.Response, name string) string {
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// RFC 4575 / RFC 6665 over UDP and TCP, outside the INVITE dialog: 200 with
// the granted Expires, a full NOTIFY at once, a partial one with the next
// version when someone joins and when they leave, a refresh with a full
// document, an unsubscription with a final NOTIFY.
func TestSubscribe(t *testing.T) {
	for _, tr := range []string{"UDP", "TCP"} {
		t.Run(tr, func(t *testing.T) {
			e := newEnv(t, nil, withConference(20*time.Millisecond))
			alice := newPeer(t, e, tr, "alice")
			ares := alice.join("chat")

			w := newPeer(t, e, tr, "watcher")
			res := w.subscribe("chat", "", sip.NewHeader("Expires", "7200"), sip.NewHeader("Accept", "application/conference-info+xml"))
			if res.StatusCode != 200 || header(res, "Expires") != "3600" || !strings.Contains(header(res, "Contact"), "isfocus") {
				t.Fatalf("SUBSCRIBE: %d Expires %q Contact %q", res.StatusCode, header(res, "Expires"), header(res, "Contact"))
			}
			tag, _ := res.To().Params.Get("tag")
			req, doc := w.notify()
			if st := subState(req); !strings.HasPrefix(st, "active;expires=") {
				t.Errorf("Subscription-State %q", st)
			}
			if doc.State != confinfo.StateFull || doc.Version != 1 || doc.User("sip:alice@example.com") == nil {
				t.Fatalf("first NOTIFY: state %q version %d\n%s", doc.State, doc.Version, req.Body())
			}
			if !strings.HasPrefix(doc.Entity, "sip:chat@127.0.0.1") {
				t.Errorf("entity %q", doc.Entity)
			}
			view := doc

			bob := newPeer(t, e, tr, "bob")
			bres := bob.join("chat")
			_, doc = w.notify()
			if doc.State != confinfo.StatePartial || doc.Version != 2 || doc.User("sip:bob@example.com") == nil || doc.User("sip:alice@example.com") != nil {
				t.Fatalf("join NOTIFY: state %q version %d users %+v", doc.State, doc.Version, doc.Users)
			}
			if err := view.Apply(doc); err != nil {
				t.Fatal(err)
			}
			bob.bye(bres)
			_, doc = w.notify()
			if u := doc.User("sip:bob@example.com"); doc.Version != 3 || u == nil || u.State != confinfo.StateDeleted {
				t.Fatalf("leave NOTIFY: version %d users %+v", doc.Version, doc.Users)
			}
			if err := view.Apply(doc); err != nil {
				t.Fatal(err)
			}
			if view.User("sip:bob@example.com") != nil || view.User("sip:alice@example.com") == nil {
				t.Errorf("merged view: %+v", view.Users)
			}

			res = w.subscribe("chat", tag, sip.NewHeader("Expires", "600"))
			if res.StatusCode != 200 || header(res, "Expires") != "600" {
				t.Fatalf("refresh: %d Expires %q", res.StatusCode, header(res, "Expires"))
			}
			req, doc = w.notify()
			if doc.State != confinfo.StateFull || doc.Version != 4 || !strings.HasPrefix(subState(req), "active;expires=") {
				t.Fatalf("refresh NOTIFY: state %q version %d %q", doc.State, doc.Version, subState(req))
			}

			res = w.subscribe("chat", tag, sip.NewHeader("Expires", "0"))
			if res.StatusCode != 200 || header(res, "Expires") != "0" {
				t.Fatalf("unsubscribe: %d Expires %q", res.StatusCode, header(res, "Expires"))
			}
			req, _ = w.notify()
			if st := subState(req); !strings.HasPrefix(st, "terminated") {
				t.Fatalf("final NOTIFY Subscription-State %q", st)
			}
			eventually(t, "the subscription to end", func() bool { return e.focus.Subscriptions() == 0 })
			if res := w.subscribe("chat", tag, sip.NewHeader("Expires", "600")); res.StatusCode != 481 {
				t.Errorf("refresh after the end: %d, want 481", res.StatusCode)
			}
			alice.bye(ares)
		})
	}
}

// The refusals of RFC 6665 and RFC 4575 §4.
func TestSubscribeRefusals(t *testing.T) {
	configured := func(name string) (room.Policy, bool, bool) {
		return room.Policy{Nicknames: true}, name == "lobby", name == "lobby"
	}
	e := newEnv(t, configured, withConference(20*time.Millisecond))
	w := newPeer(t, e, "UDP", "watcher")
	cases := []struct {
		name    string
		room    string
		headers []sip.Header
		code    int
		check   string // a header the response must carry
	}{
		{"other package", "lobby", []sip.Header{sip.NewHeader("Event", "presence")}, 489, "Allow-Events"},
		{"accept without conference-info", "lobby", []sip.Header{sip.NewHeader("Accept", "application/pidf+xml")}, 406, "Accept"},
		{"too brief", "lobby", []sip.Header{sip.NewHeader("Expires", "10")}, 423, "Min-Expires"},
		{"bad expires", "lobby", []sip.Header{sip.NewHeader("Expires", "soon")}, 400, ""},
		{"no such room", "nowhere", nil, 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := w.request(sip.SUBSCRIBE, tc.room, "")
			if tc.headers == nil || tc.headers[0].Name() != "Event" {
				req.AppendHeader(sip.NewHeader("Event", "conference"))
			}
			for _, h := range tc.headers {
				req.AppendHeader(h)
			}
			w.cseq++
			res := w.do(req)
			if res.StatusCode != tc.code {
				t.Fatalf("%d %s, want %d", res.StatusCode, res.Reason, tc.code)
			}
			if tc.check != "" && header(res, tc.check) == "" {
				t.Errorf("no %s header", tc.check)
			}
		})
	}
	if res := w.subscribe("lobby", "nosuchtag"); res.StatusCode != 481 {
		t.Errorf("in-dialog SUBSCRIBE without a dialog: %d, want 481", res.StatusCode)
	}
	// A configured room can be watched before anyone joins.
	res := w.subscribe("lobby", "", sip.NewHeader("Accept", "application/sdp, application/conference-info+xml"))
	if res.StatusCode != 200 {
		t.Fatalf("lobby: %d", res.StatusCode)
	}
	_, doc := w.notify()
	if doc.ConferenceState == nil || doc.ConferenceState.UserCount == nil || *doc.ConferenceState.UserCount != 0 {
		t.Errorf("empty lobby: %+v", doc.ConferenceState)
	}
	if e.focus.Subscriptions() != 1 {
		t.Errorf("%d subscriptions, want 1", e.focus.Subscriptions())
	}
}

// A subscriber that answers a NOTIFY with an error is dropped (RFC 6665
// §4.2.2): it gets nothing more, and its dialog is gone.
func TestSubscriberDropped(t *testing.T) {
	e := newEnv(t, nil, withConference(20*time.Millisecond))
	alice := newPeer(t, e, "TCP", "alice")
	alice.join("chat")
	w := newPeer(t, e, "TCP", "watcher")
	if res := w.subscribe("chat", ""); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	w.notify()
	w.respondNotify.Store(481)
	newPeer(t, e, "TCP", "bob").join("chat")
	eventually(t, "the subscriber to be dropped", func() bool { return e.focus.Subscriptions() == 0 })
	w.respondNotify.Store(200)
	newPeer(t, e, "TCP", "carol").join("chat")
	w.noNotify(200 * time.Millisecond)
}

// When the room is deleted (its last participant left) the subscription
// ends with reason noresource (RFC 4575 §4.2).
func TestSubscriptionEndsWithRoom(t *testing.T) {
	e := newEnv(t, nil, withConference(20*time.Millisecond))
	alice := newPeer(t, e, "UDP", "alice")
	res := alice.join("chat")
	w := newPeer(t, e, "UDP", "watcher")
	if r := w.subscribe("chat", ""); r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	w.notify()
	alice.bye(res)
	for {
		req, _ := w.notify()
		if st := subState(req); strings.HasPrefix(st, "terminated") {
			if !strings.Contains(st, "reason=noresource") {
				t.Errorf("Subscription-State %q, want reason=noresource", st)
			}
			break
		}
	}
	eventually(t, "the subscription to end", func() bool { return e.focus.Subscriptions() == 0 })
}

// A participant may subscribe inside its INVITE dialog: the NOTIFYs come in
// that dialog, with CSeqs that keep increasing with the focus's BYE.
func TestSubscribeInInviteDialog(t *testing.T) {
	e := newEnv(t, nil, withConference(20*time.Millisecond))
	alice := newPeer(t, e, "TCP", "alice")
	ares := alice.join("chat")
	tag, _ := ares.To().Params.Get("tag")
	res := alice.subscribe("chat", tag)
	if res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE in dialog: %d", res.StatusCode)
	}
	req, doc := alice.notify()
	if req.CallID().Value() != alice.callID || doc.User("sip:alice@example.com") == nil {
		t.Fatalf("NOTIFY Call-ID %q, users %+v", req.CallID().Value(), doc.Users)
	}
	if ft, _ := req.From().Params.Get("tag"); ft != tag {
		t.Errorf("NOTIFY From tag %q, want the dialog's %q", ft, tag)
	}
	first := req.CSeq().SeqNo
	newPeer(t, e, "TCP", "bob").join("chat")
	req, _ = alice.notify()
	if req.CSeq().SeqNo <= first {
		t.Errorf("CSeq %d after %d", req.CSeq().SeqNo, first)
	}
}

// Changes within one interval are coalesced: a burst of joins produces
// few NOTIFYs, and merging them gives the whole roster.
func TestNotifyCoalesced(t *testing.T) {
	e := newEnv(t, nil, withConference(300*time.Millisecond))
	first := newPeer(t, e, "TCP", "u0")
	first.join("chat")
	w := newPeer(t, e, "TCP", "watcher")
	if r := w.subscribe("chat", ""); r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	_, view := w.notify()
	const n = 20
	for i := 1; i <= n; i++ {
		newPeer(t, e, "TCP", "u"+string(rune('a'+i))).join("chat")
	}
	notifies := 0
	for view.Users == nil || len(view.Users.Users) < n+1 {
		_, doc := w.notify()
		notifies++
		if doc.Version != view.Version+1 {
			t.Fatalf("version %d after %d", doc.Version, view.Version)
		}
		if err := view.Apply(doc); err != nil {
			t.Fatal(err)
		}
	}
	if notifies > 3 {
		t.Errorf("%d NOTIFYs for %d joins, want them coalesced", notifies, n)
	}
}

// A SUBSCRIBE with Expires: 0 is a fetch (RFC 6665 §4.4.3): 200, then one
// NOTIFY with the full document and Subscription-State terminated.
func TestSubscribeFetch(t *testing.T) {
	e := newEnv(t, nil, withConference(20*time.Millisecond))
	newPeer(t, e, "UDP", "alice").join("chat")
	w := newPeer(t, e, "UDP", "watcher")
	if res := w.subscribe("chat", "", sip.NewHeader("Expires", "0")); res.StatusCode != 200 || header(res, "Expires") != "0" {
		t.Fatalf("fetch: %d Expires %q", res.StatusCode, header(res, "Expires"))
	}
	req, doc := w.notify()
	if st := subState(req); !strings.HasPrefix(st, "terminated") || doc.State != confinfo.StateFull || doc.User("sip:alice@example.com") == nil {
		t.Fatalf("fetch NOTIFY: %q state %q", st, doc.State)
	}
	w.noNotify(100 * time.Millisecond)
	eventually(t, "the fetch to end", func() bool { return e.focus.Subscriptions() == 0 })
}

// Shutdown is not held up by a subscriber that no longer answers: once it
// begins, NOTIFYs (the final ones included) go out without their answers
// being awaited, so the whole shutdown ends long before NotifyTimeout.
func TestShutdownDoesNotWaitForDeadSubscribers(t *testing.T) {
	e := newEnv(t, nil, withConference(20*time.Millisecond), func(c *Config) { c.NotifyTimeout = time.Minute })
	newPeer(t, e, "UDP", "alice").join("chat")
	w := newPeer(t, e, "UDP", "watcher")
	if res := w.subscribe("chat", ""); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	w.notify()
	w.respondNotify.Store(0)
	newPeer(t, e, "UDP", "bob").join("chat") // its NOTIFY to the watcher stays unanswered
	req, _ := w.notify()
	if st := subState(req); !strings.HasPrefix(st, "active") {
		t.Fatalf("Subscription-State %q", st)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.focus.BeginShutdown()
	e.focus.cfg.Conference.Shutdown(ctx)
	if err := e.focus.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v (held up by the unanswered NOTIFY)", err)
	}
}
