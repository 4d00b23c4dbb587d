package client

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

	"go.uber.org/goleak"

	"github.com/parley-im/parley/cpim"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

const alice = "sip:alice@example.com" // opts(t, "alice", …).From

// checkSEND checks the MSRP envelope of one chunk of our SEND and returns
// its Byte-Range.
func checkSEND(t *testing.T, s *Session, f *fakeRoom, m *msrp.Message) msrp.ByteRange {
	t.Helper()
	if m.Method != msrp.MethodSEND {
		t.Fatalf("got %s, want SEND", msrptest.Describe(m))
	}
	if err := m.Validate(); err != nil {
		t.Errorf("invalid SEND: %v", err)
	}
	for name, want := range map[string]string{
		msrp.HeaderToPath:      f.sw.String(),
		msrp.HeaderFromPath:    s.LocalURI().String(),
		msrp.HeaderContentType: "message/cpim",
	} {
		if got := m.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{msrp.HeaderSuccessReport, msrp.HeaderFailureReport} {
		if m.Header.Has(name) {
			t.Errorf("SEND carries %s: %q", name, m.Header.Get(name))
		}
	}
	if !msrp.ValidTID(m.MessageID()) {
		t.Errorf("Message-ID %q", m.MessageID())
	}
	br, ok, err := m.ByteRange()
	if !ok || err != nil {
		t.Fatalf("Byte-Range %q: %v", m.Header.Get(msrp.HeaderByteRange), err)
	}
	return br
}

// parseCPIM parses the CPIM body of a whole SEND and checks its From, To
// (as written on the wire), DateTime and inner Content-Type.
func parseCPIM(t *testing.T, body []byte, wantTo, wantType string) *cpim.Message {
	t.Helper()
	c, err := cpim.Parse(body)
	if err != nil {
		t.Fatalf("CPIM: %v\n%s", err, body)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("CPIM: %v", err)
	}
	if from, err := c.From(); err != nil || from.URI != alice {
		t.Errorf("CPIM From = %q, want the URI %s", c.Values("From"), alice)
	}
	if got := c.Values("To"); len(got) != 1 || got[0] != "<"+wantTo+">" {
		t.Errorf("CPIM To = %q, want <%s>", got, wantTo)
	}
	if dt, err := c.DateTime(); err != nil || time.Since(dt) > time.Minute || time.Until(dt) > time.Minute {
		t.Errorf("CPIM DateTime %q: %v", c.Get("DateTime"), err)
	}
	if ct := c.ContentType(); ct != wantType {
		t.Errorf("inner Content-Type = %q, want %q", ct, wantType)
	}
	return c
}

// TestSendWireForm checks what Send, SendPrivate, SendMessage and
// SetNickname put on the wire, and that each returns nil on a 200.
func TestSendWireForm(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, nil)
	defer f.close(t, s)
	ctx := testCtx(t)

	done := async(func() error { return s.Send(ctx, "hello, room") })
	m := f.peer.ExpectRequest(msrp.MethodSEND)
	if br := checkSEND(t, s, f, m); br != (msrp.ByteRange{Start: 1, End: int64(len(m.Body)), Total: int64(len(m.Body))}) || m.EndFlag() != msrp.FlagEnd {
		t.Errorf("Byte-Range %v, flag %c: want the whole body", br, m.EndFlag())
	}
	c := parseCPIM(t, m.Body, f.room, "text/plain;charset=utf-8")
	if string(c.Body) != "hello, room" {
		t.Errorf("content %q", c.Body)
	}
	if err := result(t, done); err != nil {
		t.Fatalf("Send: %v", err)
	}
	first := m.MessageID()

	done = async(func() error { return s.SendPrivate(ctx, "sip:bob@example.com", "psst") })
	m = f.peer.ExpectRequest(msrp.MethodSEND)
	checkSEND(t, s, f, m)
	c = parseCPIM(t, m.Body, "sip:bob@example.com", "text/plain;charset=utf-8")
	if string(c.Body) != "psst" {
		t.Errorf("content %q", c.Body)
	}
	if m.MessageID() == first {
		t.Error("two messages with the same Message-ID")
	}
	if err := result(t, done); err != nil {
		t.Fatalf("SendPrivate: %v", err)
	}

	done = async(func() error {
		return s.SendMessage(ctx, Outgoing{ContentType: "text/html", Body: []byte("<b>hi</b>")})
	})
	m = f.peer.ExpectRequest(msrp.MethodSEND)
	checkSEND(t, s, f, m)
	if c = parseCPIM(t, m.Body, f.room, "text/html"); string(c.Body) != "<b>hi</b>" {
		t.Errorf("content %q", c.Body)
	}
	if err := result(t, done); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}

	for nick, want := range map[string]string{
		`Alice "the great" \o/`: `"Alice \"the great\" \\o/"`,
		"":                      `""`, // removal, RFC 7701 §7.3
	} {
		done = async(func() error { return s.SetNickname(ctx, nick) })
		m = f.peer.ExpectRequest(msrp.MethodNICKNAME)
		if got := m.Header.Values(msrp.HeaderUseNickname); len(got) != 1 || got[0] != want {
			t.Errorf("SetNickname(%q): Use-Nickname %q, want %q", nick, got, want)
		}
		for _, name := range []string{msrp.HeaderSuccessReport, msrp.HeaderFailureReport} {
			if m.Header.Has(name) {
				t.Errorf("NICKNAME carries %s", name)
			}
		}
		if m.HasBody() || m.Header.Get(msrp.HeaderToPath) != f.sw.String() || m.Header.Get(msrp.HeaderFromPath) != s.LocalURI().String() {
			t.Errorf("NICKNAME %s: %v", msrptest.Describe(m), m.Header)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("invalid NICKNAME: %v", err)
		}
		if err := result(t, done); err != nil {
			t.Fatalf("SetNickname(%q): %v", nick, err)
		}
	}
	if n := pendingCount(s); n != 0 {
		t.Errorf("%d responses still awaited", n)
	}
}

// TestSendChunked: a 10,000-octet CPIM object goes in five chunks of at
// most 2048 octets, in order, with one Message-ID, a transaction id each
// and the Byte-Ranges of RFC 4975 §7.1.1.
func TestSendChunked(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, nil)
	defer f.close(t, s)

	// Size the text so that the CPIM object is exactly 10,000 octets.
	overhead := cpim.New(cpim.Address{DisplayName: "alice", URI: alice}, []cpim.Address{{URI: f.room}}, DefaultContentType, nil)
	overhead.SetDateTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	text := make([]byte, 10000-len(overhead.Bytes()))
	for i := range text {
		text[i] = 'a' + byte(i%26)
	}
	done := async(func() error { return s.Send(testCtx(t), string(text)) })

	var (
		body []byte
		mid  string
		tids = map[string]bool{}
	)
	for i := range 5 {
		m := f.peer.ExpectRequest(msrp.MethodSEND)
		br := checkSEND(t, s, f, m)
		start := int64(i*2048 + 1)
		want := msrp.ByteRange{Start: start, End: min(start+2047, 10000), Total: 10000}
		if br != want {
			t.Errorf("chunk %d: Byte-Range %v, want %v", i, br, want)
		}
		flag := byte(msrp.FlagContinue)
		if i == 4 {
			flag = msrp.FlagEnd
		}
		if m.EndFlag() != flag || len(m.Body) > 2048 {
			t.Errorf("chunk %d: flag %c, %d octets", i, m.EndFlag(), len(m.Body))
		}
		if i == 0 {
			mid = m.MessageID()
		} else if m.MessageID() != mid {
			t.Errorf("chunk %d: Message-ID %q, want %q", i, m.MessageID(), mid)
		}
		if tids[m.TID] {
			t.Errorf("chunk %d reuses transaction id %s", i, m.TID)
		}
		tids[m.TID] = true
		body = append(body, m.Body...)
	}
	if err := result(t, done); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if c := parseCPIM(t, body, f.room, DefaultContentType); !bytes.Equal(c.Body, text) {
		t.Error("reassembled content differs")
	}
	f.peer.ExpectSilence(50 * time.Millisecond)
}

// TestSendErrors: a non-200 answer comes back as an *msrp.StatusError with
// its code and comment, for SEND (any chunk) and NICKNAME.
func TestSendErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, nil)
	defer f.close(t, s)
	ctx := testCtx(t)

	check := func(what string, err error, code int) {
		t.Helper()
		var se *msrp.StatusError
		if !errors.As(err, &se) || se.Code != code || se.Comment != msrp.StatusText(code) {
			t.Errorf("%s answered %d: error %v", what, code, err)
		}
	}
	for _, code := range []int{400, 403, 404, 413, 415, 428, 481, 501} {
		done := async(func() error { return s.SendPrivate(ctx, "sip:bob@example.com", "x") })
		m := f.peer.Expect()
		f.peer.Send(m.Response(code, ""))
		check("SEND", result(t, done), code)
	}
	for _, code := range []int{403, 424, 425} {
		done := async(func() error { return s.SetNickname(ctx, "bob") })
		m := f.peer.Expect()
		f.peer.Send(m.Response(code, ""))
		check("NICKNAME", result(t, done), code)
	}

	// A chunked message refused at its third chunk: the error is the 413,
	// and no chunk follows once the refusal has been read.
	done := async(func() error { return s.Send(ctx, strings.Repeat("z", 9000)) })
	for i := range 3 {
		m := f.peer.Expect()
		code := msrp.StatusOK
		if i == 2 {
			code = msrp.StatusStopSending
		}
		f.peer.Send(m.Response(code, ""))
	}
	check("third chunk", result(t, done), msrp.StatusStopSending)
	f.peer.Timeout = 200 * time.Millisecond
	defer func() { f.peer.Timeout = 0 }()
	for { // chunks written before the 413 was read may follow
		m, err := f.peer.Next()
		if err != nil {
			break
		}
		if m.EndFlag() == msrp.FlagEnd {
			f.peer.Send(m.Response(msrp.StatusOK, ""))
			break
		}
		f.peer.Send(m.Response(msrp.StatusOK, ""))
	}
	if n := pendingCount(s); n != 0 {
		t.Errorf("%d responses still awaited", n)
	}
}

// TestSendConcurrent: many goroutines send at once, some messages chunked.
// Transaction ids are unique, each message's chunks arrive in order, and
// every Send gets its own answer. Run with -race.
func TestSendConcurrent(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, nil)
	defer f.close(t, s)
	ctx := testCtx(t)

	const senders, each = 12, 4
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				text := fmt.Sprintf("%d/%d ", g, i) + strings.Repeat("w", (g*each+i)%3*2500)
				if err := s.Send(ctx, text); err != nil {
					errs <- fmt.Errorf("%d/%d: %w", g, i, err)
				}
			}
		})
	}
	tids := map[string]bool{}
	next := map[string]int64{} // Message-ID → next expected range-start
	bodies := map[string][]byte{}
	seen := map[string]bool{} // "g/i" labels of the complete messages
	for complete := 0; complete < senders*each; {
		m := f.peer.Expect()
		br := checkSEND(t, s, f, m)
		if tids[m.TID] {
			t.Fatalf("transaction id %s used twice", m.TID)
		}
		tids[m.TID] = true
		id := m.MessageID()
		if want := max(next[id], 1); br.Start != want {
			t.Fatalf("message %s: chunk at %d, want %d", id, br.Start, want)
		}
		next[id] = br.Start + int64(len(m.Body))
		bodies[id] = append(bodies[id], m.Body...)
		if m.EndFlag() == msrp.FlagEnd {
			complete++
			c, err := cpim.Parse(bodies[id])
			if err != nil {
				t.Fatalf("message %s: %v", id, err)
			}
			label, _, _ := strings.Cut(string(c.Body), " ")
			if seen[label] {
				t.Errorf("message %s delivered twice", label)
			}
			seen[label] = true
		}
		f.peer.Send(m.Response(msrp.StatusOK, ""))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(bodies) != senders*each || len(seen) != senders*each {
		t.Errorf("%d Message-IDs, %d distinct texts for %d messages", len(bodies), len(seen), senders*each)
	}
	if n := pendingCount(s); n != 0 {
		t.Errorf("%d responses still awaited", n)
	}
}

// TestSendTimeout: no response within Options.Timeout is ErrTimeout, ctx's
// end is ctx's error; the waiter is removed either way and a late response
// disturbs nothing.
func TestSendTimeout(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, func(o *Options) { o.Timeout = 300 * time.Millisecond })
	defer f.close(t, s)

	done := async(func() error { return s.Send(context.Background(), "anyone?") })
	late := f.peer.Expect()
	if err := result(t, done); !errors.Is(err, ErrTimeout) {
		t.Errorf("Send without a response: %v, want ErrTimeout", err)
	}
	if n := pendingCount(s); n != 0 {
		t.Errorf("%d responses still awaited after the timeout", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done = async(func() error { return s.SetNickname(ctx, "slow") })
	f.peer.Expect()
	if err := result(t, done); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
		t.Errorf("SetNickname with an expiring ctx: %v, want context.DeadlineExceeded", err)
	}
	if n := pendingCount(s); n != 0 {
		t.Errorf("%d responses still awaited after ctx ended", n)
	}
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := s.Send(canceled, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a canceled ctx: %v", err)
	}

	f.peer.Send(late.Response(msrp.StatusOK, "")) // too late: ignored
	done = async(func() error { return s.Send(context.Background(), "again") })
	m := f.peer.Expect()
	f.peer.Send(m.Response(msrp.StatusForbidden, ""))
	var se *msrp.StatusError
	if err := result(t, done); !errors.As(err, &se) || se.Code != 403 {
		t.Errorf("Send after a late response: %v, want 403", err)
	}
	if isDone(s) {
		t.Fatalf("session ended: %v", s.Err())
	}
}

// TestSendConnectionLost: a Send waiting for its answer when the
// connection drops fails with ErrConnectionLost; once the Session has
// ended, Send and SetNickname fail with ErrSessionEnded, and Messages is
// closed.
func TestSendConnectionLost(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, func(o *Options) { o.lostGrace = 10 * time.Millisecond })
	defer f.close(t, s)

	done := async(func() error { return s.Send(context.Background(), "into the void") })
	f.peer.Expect()
	f.peer.Close()
	if err := result(t, done); !errors.Is(err, ErrConnectionLost) {
		t.Errorf("Send: %v, want ErrConnectionLost", err)
	}
	waitDone(t, s)
	if !errors.Is(s.Err(), ErrConnectionLost) {
		t.Errorf("Err() = %v", s.Err())
	}
	if err := s.Send(context.Background(), "x"); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("Send after the end: %v, want ErrSessionEnded", err)
	}
	if err := s.SetNickname(context.Background(), "x"); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("SetNickname after the end: %v, want ErrSessionEnded", err)
	}
	if _, ok := <-s.Messages(); ok {
		t.Error("Messages not closed")
	}
	if n := pendingCount(s); n != 0 {
		t.Errorf("%d responses still awaited", n)
	}
}

// TestLocalRefusals: what the room does not allow, or what cannot be
// written, is refused without sending anything.
func TestLocalRefusals(t *testing.T) {
	for _, caps := range []string{bareCaps, noCaps} {
		t.Run(fmt.Sprintf("%q", caps), func(t *testing.T) {
			defer goleak.VerifyNone(t)
			s, f := joinFake(t, caps, nil)
			defer f.close(t, s)
			ctx := testCtx(t)
			if err := s.SendPrivate(ctx, "sip:bob@example.com", "x"); !errors.Is(err, ErrPrivateMessagesNotAllowed) {
				t.Errorf("SendPrivate: %v", err)
			}
			if err := s.SendMessage(ctx, Outgoing{To: []string{"sip:bob@example.com"}}); !errors.Is(err, ErrPrivateMessagesNotAllowed) {
				t.Errorf("SendMessage to bob: %v", err)
			}
			if err := s.SetNickname(ctx, "al"); !errors.Is(err, ErrNicknamesNotAllowed) {
				t.Errorf("SetNickname: %v", err)
			}
			f.peer.ExpectSilence(50 * time.Millisecond)

			// A regular message is still fine, also with the room as To.
			done := async(func() error {
				return s.SendMessage(ctx, Outgoing{To: []string{f.room + ";transport=tcp"}, Body: []byte("hi")})
			})
			f.peer.ExpectRequest(msrp.MethodSEND)
			if err := result(t, done); err != nil {
				t.Errorf("SendMessage to the room: %v", err)
			}
		})
	}

	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, nil)
	defer f.close(t, s)
	ctx := testCtx(t)
	for name, err := range map[string]error{
		"private to the room":   s.SendPrivate(ctx, f.room, "x"),
		"bad recipient":         s.SendPrivate(ctx, "sip:bob>@example.com", "x"),
		"recipient with space":  s.SendMessage(ctx, Outgoing{To: []string{"sip:b ob@example.com"}}),
		"header injection":      s.SendMessage(ctx, Outgoing{ContentType: "text/plain\r\nX-Evil: 1"}),
		"bad content type":      s.SendMessage(ctx, Outgoing{ContentType: "text"}),
		"nickname with control": s.SetNickname(ctx, "a\x01b"),
		"nickname too long":     s.SetNickname(ctx, strings.Repeat("n", 1024)),
	} {
		want := ErrInvalidMessage
		if strings.HasPrefix(name, "nickname") {
			want = msrp.ErrMalformedNickname
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	f.peer.ExpectSilence(50 * time.Millisecond)
}

// cpimBody is a CPIM object as another participant's client writes it.
func cpimBody(from, to, text string) []byte {
	return []byte("From: " + from + "\r\nTo: " + to + "\r\nDateTime: 2025-06-07T08:09:10+02:00\r\n\r\n" +
		"Content-Type: text/plain;charset=utf-8\r\n\r\n" + text)
}

// TestReceive: whole messages are answered 200 and delivered in order,
// with Private and System as RFC 7701 §6.2 / SPEC §1.6 decide them.
func TestReceive(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, nil)
	defer f.close(t, s)
	room := "<" + f.room + ">"
	for _, tc := range []struct {
		name, from, to  string
		private, system bool
	}{
		{"regular", "Bob <sip:bob@example.com>", room, false, false},
		{"private", `"Bob B." <sip:bob@example.com>`, "<" + alice + ">", true, false},
		{"notice", room, room, false, true},
		{"room URI with transport", "<sip:bob@example.com>", "<" + f.room + ";transport=tcp>", false, false},
		{"anonymous sender", "<sip:anon-1@anonymous.invalid>", "<" + alice + ">", true, false},
	} {
		snd := msrptest.Send(s.LocalURI(), f.sw, "message/cpim", cpimBody(tc.from, tc.to, tc.name))
		f.send(t, snd, msrp.StatusOK)
		m := receive(t, s)
		fa, _ := cpim.ParseAddress(tc.from)
		ta, _ := cpim.ParseAddress(tc.to)
		if m.From != fa.URI || m.FromDisplay != fa.DisplayName || len(m.To) != 1 || m.To[0] != ta.URI {
			t.Errorf("%s: From %q %q, To %q", tc.name, m.From, m.FromDisplay, m.To)
		}
		if m.Private != tc.private || m.System != tc.system {
			t.Errorf("%s: Private %v System %v, want %v %v", tc.name, m.Private, m.System, tc.private, tc.system)
		}
		if string(m.Body) != tc.name || m.ContentType != "text/plain;charset=utf-8" || m.MessageID != snd.MessageID() {
			t.Errorf("%s: body %q, type %q, Message-ID %q", tc.name, m.Body, m.ContentType, m.MessageID)
		}
		if !m.DateTime.Equal(time.Date(2025, 6, 7, 6, 9, 10, 0, time.UTC)) {
			t.Errorf("%s: DateTime %v", tc.name, m.DateTime)
		}
		if !bytes.Equal(m.Raw, snd.Body) {
			t.Errorf("%s: Raw differs", tc.name)
		}
	}
	// A bodiless SEND (a keep-alive) is answered and delivers nothing;
	// a SEND with Failure-Report: no is delivered without an answer.
	f.send(t, msrptest.Bodiless(s.LocalURI(), f.sw), msrp.StatusOK)
	quiet := msrptest.Send(s.LocalURI(), f.sw, "message/cpim", cpimBody(room, room, "quiet"), msrptest.WithHeader(msrp.HeaderFailureReport, "no"))
	f.peer.Send(quiet)
	if m := receive(t, s); string(m.Body) != "quiet" {
		t.Errorf("got %q, want quiet", m.Body)
	}
	f.peer.ExpectSilence(50 * time.Millisecond)
	if len(s.Messages()) != 0 || s.Dropped() != 0 {
		t.Errorf("%d more messages, %d dropped", len(s.Messages()), s.Dropped())
	}
}

// chunk builds one chunk of an incoming message.
func chunk(f *fakeRoom, s *Session, id string, body []byte, br string, flag byte) *msrp.Message {
	m := msrptest.Send(s.LocalURI(), f.sw, "message/cpim", body, msrptest.WithFlag(flag))
	m.Header.Set(msrp.HeaderMessageID, id)
	m.Header.Set(msrp.HeaderByteRange, br)
	return m
}

// TestReceiveChunked: chunks with one Message-ID are answered 200 each and
// delivered once, whole; a "#" chunk drops its message.
func TestReceiveChunked(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, nil)
	defer f.close(t, s)
	room := "<" + f.room + ">"
	text := strings.Repeat("0123456789", 500)
	body := cpimBody("<sip:bob@example.com>", room, text)
	n := len(body)

	// Explicit ranges, the CPIM header block split across the first two
	// chunks in the other test below.
	id := msrp.NewMessageID()
	f.send(t, chunk(f, s, id, body[:2048], fmt.Sprintf("1-2048/%d", n), msrp.FlagContinue), msrp.StatusOK)
	f.send(t, chunk(f, s, id, body[2048:4096], fmt.Sprintf("2049-4096/%d", n), msrp.FlagContinue), msrp.StatusOK)
	select {
	case m := <-s.Messages():
		t.Fatalf("delivered before the last chunk: %q", m.Body)
	case <-time.After(20 * time.Millisecond):
	}
	f.send(t, chunk(f, s, id, body[4096:], fmt.Sprintf("4097-%d/%d", n, n), msrp.FlagEnd), msrp.StatusOK)
	m := receive(t, s)
	if string(m.Body) != text || m.MessageID != id || m.Private || m.From != "sip:bob@example.com" {
		t.Errorf("reassembled: %d octets, Message-ID %q, Private %v, From %q", len(m.Body), m.MessageID, m.Private, m.From)
	}

	// Unknown range-ends and total, the first cut inside the CPIM headers.
	id = msrp.NewMessageID()
	f.send(t, chunk(f, s, id, body[:10], "1-*/*", msrp.FlagContinue), msrp.StatusOK)
	f.send(t, chunk(f, s, id, body[10:], "11-*/*", msrp.FlagEnd), msrp.StatusOK)
	if m := receive(t, s); string(m.Body) != text {
		t.Errorf("reassembled with unknown ranges: %d octets", len(m.Body))
	}

	// Aborted: dropped, and nothing of it is delivered later.
	id = msrp.NewMessageID()
	f.send(t, chunk(f, s, id, body[:2048], fmt.Sprintf("1-2048/%d", n), msrp.FlagContinue), msrp.StatusOK)
	f.send(t, chunk(f, s, id, body[2048:2100], "2049-2100/*", msrp.FlagAbort), msrp.StatusOK)
	f.send(t, msrptest.Send(s.LocalURI(), f.sw, "message/cpim", cpimBody(room, room, "after")), msrp.StatusOK)
	if m := receive(t, s); string(m.Body) != "after" {
		t.Errorf("after an abort got %q", m.Body)
	}
	f.send(t, chunk(f, s, id, body[2100:], fmt.Sprintf("2101-%d/%d", n, n), msrp.FlagEnd), msrp.StatusOK)
	select {
	case m := <-s.Messages():
		t.Errorf("an aborted message was delivered: %d octets", len(m.Body))
	case <-time.After(50 * time.Millisecond):
	}
}

// TestReceiveRefused: 415 for a SEND that is not message/cpim, 400 for
// CPIM that does not parse or lacks From or To, 413 for a message over
// Options.MaxMessageSize (and its later chunks). Nothing is delivered.
func TestReceiveRefused(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, func(o *Options) { o.MaxMessageSize = 4096 })
	defer f.close(t, s)
	room := "<" + f.room + ">"

	f.send(t, msrptest.Send(s.LocalURI(), f.sw, "text/plain", []byte("no wrapper")), msrp.StatusUnsupportedMedia)
	f.send(t, msrptest.Send(s.LocalURI(), f.sw, "message/cpim", []byte("hello")), msrp.StatusBadRequest)
	f.send(t, msrptest.Send(s.LocalURI(), f.sw, "message/cpim", []byte("To: "+room+"\r\n\r\nContent-Type: text/plain\r\n\r\nx")), msrp.StatusBadRequest)
	f.send(t, msrptest.Send(s.LocalURI(), f.sw, "message/cpim", []byte("From: "+room+"\r\n\r\nContent-Type: text/plain\r\n\r\nx")), msrp.StatusBadRequest)
	f.send(t, msrptest.Send(s.LocalURI(), f.sw, "message/cpim", []byte("From: bob\r\nTo: "+room+"\r\n\r\nContent-Type: text/plain\r\n\r\nx")), msrp.StatusBadRequest)

	big := cpimBody(room, room, strings.Repeat("b", 5000))
	f.send(t, msrptest.Send(s.LocalURI(), f.sw, "message/cpim", big), msrp.StatusStopSending)
	id := msrp.NewMessageID()
	n := len(big)
	f.send(t, chunk(f, s, id, big[:2048], fmt.Sprintf("1-2048/%d", n), msrp.FlagContinue), msrp.StatusStopSending)
	f.send(t, chunk(f, s, id, big[2048:4096], fmt.Sprintf("2049-4096/%d", n), msrp.FlagContinue), msrp.StatusStopSending)
	// Total unknown: refused once it goes past the limit, and after.
	id = msrp.NewMessageID()
	f.send(t, chunk(f, s, id, big[:2048], "1-2048/*", msrp.FlagContinue), msrp.StatusOK)
	f.send(t, chunk(f, s, id, big[2048:4096], "2049-4096/*", msrp.FlagContinue), msrp.StatusOK)
	f.send(t, chunk(f, s, id, big[4096:], fmt.Sprintf("4097-%d/*", n), msrp.FlagEnd), msrp.StatusStopSending)
	// A bad Byte-Range.
	f.send(t, chunk(f, s, msrp.NewMessageID(), big[:100], "0-99/100", msrp.FlagEnd), msrp.StatusBadRequest)

	f.send(t, msrptest.Send(s.LocalURI(), f.sw, "message/cpim", cpimBody(room, room, "fine")), msrp.StatusOK)
	if m := receive(t, s); string(m.Body) != "fine" {
		t.Errorf("got %q, want the one good message", m.Body)
	}
	if len(s.Messages()) != 0 {
		t.Errorf("%d refused messages delivered", len(s.Messages()))
	}
}

// TestReceiveManyIncomplete: incomplete messages whose rest never comes
// do not stop reception: the oldest is forgotten to make room.
func TestReceiveManyIncomplete(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, nil)
	defer f.close(t, s)
	room := "<" + f.room + ">"
	body := cpimBody(room, room, strings.Repeat("i", 3000))
	n := len(body)
	var first string
	for i := range 40 {
		id := msrp.NewMessageID()
		if i == 0 {
			first = id
		}
		f.send(t, chunk(f, s, id, body[:2048], fmt.Sprintf("1-2048/%d", n), msrp.FlagContinue), msrp.StatusOK)
	}
	last := msrp.NewMessageID()
	f.send(t, chunk(f, s, last, body[:2048], fmt.Sprintf("1-2048/%d", n), msrp.FlagContinue), msrp.StatusOK)
	f.send(t, chunk(f, s, last, body[2048:], fmt.Sprintf("2049-%d/%d", n, n), msrp.FlagEnd), msrp.StatusOK)
	if m := receive(t, s); m.MessageID != last {
		t.Errorf("got %q, want %q", m.MessageID, last)
	}
	// The first one was forgotten: its end alone is not a message.
	f.send(t, chunk(f, s, first, body[2048:], fmt.Sprintf("2049-%d/%d", n, n), msrp.FlagEnd), msrp.StatusOK)
	select {
	case m := <-s.Messages():
		t.Errorf("a forgotten message was delivered: %q", m.MessageID)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestReceiveDropWhenFull: with nobody reading, messages beyond
// Options.MessageBuffer are answered 200, dropped and counted; the read
// loop goes on (the switch gets every answer).
func TestReceiveDropWhenFull(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, func(o *Options) { o.MessageBuffer = 2 })
	defer f.close(t, s)
	room := "<" + f.room + ">"
	for i := range 5 {
		f.send(t, msrptest.Send(s.LocalURI(), f.sw, "message/cpim", cpimBody(room, room, strconv.Itoa(i))), msrp.StatusOK)
	}
	if got := s.Dropped(); got != 3 {
		t.Errorf("Dropped() = %d, want 3", got)
	}
	for i := range 2 {
		if m := receive(t, s); string(m.Body) != strconv.Itoa(i) {
			t.Errorf("message %d: %q", i, m.Body)
		}
	}
	f.send(t, msrptest.Send(s.LocalURI(), f.sw, "message/cpim", cpimBody(room, room, "5")), msrp.StatusOK)
	if m := receive(t, s); string(m.Body) != "5" {
		t.Errorf("after draining: %q", m.Body)
	}
	if got := s.Dropped(); got != 3 {
		t.Errorf("Dropped() = %d, want 3", got)
	}
}

// TestMessagesClosedAtEnd: the channel is closed after Done (so Err is
// final when a range over it ends); what was buffered is read first.
func TestMessagesClosedAtEnd(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, f := joinFake(t, bothCaps, nil)
	room := "<" + f.room + ">"
	f.send(t, msrptest.Send(s.LocalURI(), f.sw, "message/cpim", cpimBody(room, room, "last words")), msrp.StatusOK)

	type ranged struct {
		got  []string
		done bool
	}
	res := make(chan ranged, 1)
	go func() {
		var r ranged
		for m := range s.Messages() {
			r.got = append(r.got, string(m.Body))
		}
		r.done = isDone(s) // at once: Done must already be closed
		res <- r
	}()
	f.close(t, s)
	r := <-res
	if !r.done || s.Err() != nil {
		t.Errorf("Messages closed with Done %v, Err %v", r.done, s.Err())
	}
	if len(r.got) != 1 || r.got[0] != "last words" {
		t.Errorf("read %q", r.got)
	}
}

// TestPrivacy: Options.Privacy adds "Privacy: id" to the INVITE and keeps
// From as given.
func TestPrivacy(t *testing.T) {
	for _, privacy := range []bool{false, true} {
		t.Run(strconv.FormatBool(privacy), func(t *testing.T) {
			defer goleak.VerifyNone(t)
			s, f := joinFake(t, bothCaps, func(o *Options) { o.Privacy = privacy })
			defer f.close(t, s)
			inv := <-f.focus.invites
			h := inv.GetHeaders("Privacy")
			if privacy && (len(h) != 1 || h[0].Value() != "id") || !privacy && len(h) != 0 {
				t.Errorf("Privacy headers %v", h)
			}
			if from := inv.From(); from == nil || from.Address.String() != alice || from.DisplayName != "alice" {
				t.Errorf("From %v", from)
			}
			// Messages still carry our own From; with privacy, without
			// the display name (the switch drops it with the identity).
			done := async(func() error { return s.Send(testCtx(t), "hi") })
			c := parseCPIM(t, f.peer.ExpectRequest(msrp.MethodSEND).Body, f.room, DefaultContentType)
			wantFrom := "alice <" + alice + ">"
			if privacy {
				wantFrom = "<" + alice + ">"
			}
			if got := c.Values("From"); len(got) != 1 || got[0] != wantFrom {
				t.Errorf("CPIM From = %q, want %q", got, wantFrom)
			}
			if err := result(t, done); err != nil {
				t.Error(err)
			}
		})
	}
}
