package switchboard

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// TestPropertyRouting drives a room of 6 to 10 sessions (one user on two
// devices, users without private messages, restrictive
// accept-wrapped-types, a conference-unaware one now and then) with random
// interleavings of regular and private messages (to members, to spellings
// of their URIs, to nobody), chunked messages (CPIM headers split across
// chunks as in RFC 7701 §9.5, several messages of one session interleaved,
// sender aborts), nickname changes from a small pool, up to two late joins
// and two leaves, and checks everything against the model of
// model_test.go: each request's status, each session's copies (exactly
// once, in per-sender order, Byte-Range and flag of each chunk, bodies byte
// for byte after reassembly, one new Message-ID per message shared by its
// copies), the success REPORTs, and nothing else.
//
// The test goroutine sends without waiting for answers, so the sessions'
// requests race at the switch; the model only relies on the order within
// one session. NICKNAMEs, joins and leaves wait for quiet (their outcome
// depends on the order across sessions). A reader goroutine per session
// collects what arrives, so that no recipient falls behind.
//
// Seeds: 1..20 by default (-routing.seeds=n for 1..n, 5 with -short); the
// run stops at the first failing seed and logs its steps. Run others with
// PARLEY_ROUTING_SEED=7,42 (or "random") or -args -routing.seed=7,42; each
// subtest is named after its seed; -v logs what each seed exercised.
func TestPropertyRouting(t *testing.T) {
	start := time.Now()
	seeds := propSeeds(t)
	for _, seed := range seeds {
		ok := t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			runPropertyRouting(t, seed)
		})
		if !ok {
			t.Logf("stopping at the first failing seed, %d", seed)
			break
		}
	}
	t.Logf("%d seeds in %v", len(seeds), time.Since(start).Round(time.Millisecond))
}

var (
	flagRoutingSeed  = flag.String("routing.seed", "", "TestPropertyRouting: comma-separated seeds to run, or \"random\" (also $PARLEY_ROUTING_SEED)")
	flagRoutingSeeds = flag.Int("routing.seeds", 20, "TestPropertyRouting: run seeds 1..n")
)

func propSeeds(t *testing.T) []uint64 {
	spec := *flagRoutingSeed
	if spec == "" {
		spec = os.Getenv("PARLEY_ROUTING_SEED")
	}
	var seeds []uint64
	if spec != "" {
		for _, f := range strings.Split(spec, ",") {
			f = strings.TrimSpace(f)
			if f == "random" {
				seeds = append(seeds, rand.Uint64()%1_000_000_000)
				continue
			}
			s, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				t.Fatalf("bad seed %q: %v", f, err)
			}
			seeds = append(seeds, s)
		}
		return seeds
	}
	n := *flagRoutingSeeds
	if testing.Short() {
		n = min(n, 5)
	}
	for i := 1; i <= n; i++ {
		seeds = append(seeds, uint64(i))
	}
	return seeds
}

const (
	propSilence  = 50 * time.Millisecond // the final "nothing else arrives"
	propWait     = waitTimeout           // bounds every wait for expected traffic
	propMaxErrs  = 25
	propRoomName = "chat"
)

var propNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallet", "niaj"}

type propRun struct {
	t       *testing.T
	seed    uint64
	rng     *rand.Rand
	h       *harness
	md      *propModel
	parties []*propParty
	msgs    map[string]*propMsg
	active  []*propMsg // chunked messages with chunks left to send
	nextTag int
	fresh   int // next unused name
	joins   int
	leaves  int
	trace   []string
	errs    int
	stats   map[string]int // what the run exercised, logged with -v
}

type propParty struct {
	*party
	idx  int
	in   *propInbox
	tids []string       // requests that get a response, in order
	want map[string]int // tid → expected status
	what map[string]string
}

func runPropertyRouting(t *testing.T, seed uint64) {
	t.Logf("seed %d: rerun with PARLEY_ROUTING_SEED=%d go test ./internal/switchboard -run 'TestPropertyRouting/seed=%d$'", seed, seed, seed)
	r := &propRun{
		t:     t,
		seed:  seed,
		rng:   rand.New(rand.NewPCG(seed, 0x7701)),
		h:     newHarness(t, defaultPolicy()),
		md:    newPropModel(roomURI(propRoomName)),
		msgs:  make(map[string]*propMsg),
		stats: make(map[string]int),
	}
	t.Cleanup(r.stopAll) // before the harness's cleanup: readers end first
	r.setup()
	steps := 120 + r.rng.IntN(80)
	for range steps {
		r.step()
	}
	for len(r.active) > 0 {
		r.continueChunked()
	}
	r.waitAll()
	time.Sleep(propSilence) // anything more arriving now is an extra
	r.stopAll()
	r.verify()
	if r.errs > 0 {
		r.dumpTrace()
	}
	t.Logf("seed %d: %d sessions, %v", seed, len(r.parties), r.stats)
}

// setup joins the room: 0 and 1 are one user on two devices, both taking
// private messages; 2 takes text/plain only; the last one is a user
// without private messages; the others are random, sometimes another
// device of an earlier user.
func (r *propRun) setup() {
	n := 6 + r.rng.IntN(5)
	for i := range n {
		switch {
		case i == 0:
			r.addParty(r.freshURI(), true, true, "")
		case i == 1:
			r.addParty(r.md.sess[0].uri, true, true, "")
		case i == 2:
			r.addParty(r.freshURI(), r.rng.IntN(2) == 0, true, "text/plain")
		case i == n-1:
			r.addParty(r.freshURI(), false, true, r.randWrapped())
		default:
			r.addRandomParty()
		}
	}
	var desc []string
	for _, s := range r.md.sess {
		desc = append(desc, fmt.Sprintf("#%d %s private=%v wrapped=%q", s.idx, s.uri, s.private, strings.Join(s.wrapped, " ")))
	}
	r.tracef("room: %s", strings.Join(desc, "; "))
}

func (r *propRun) freshURI() string {
	name := propNames[r.fresh%len(propNames)]
	if r.fresh >= len(propNames) {
		name += strconv.Itoa(r.fresh)
	}
	r.fresh++
	return "sip:" + name + "@example.com"
}

func (r *propRun) randWrapped() string {
	switch r.rng.IntN(10) {
	case 0, 1:
		return "text/plain"
	case 2:
		return "text/*"
	case 3:
		return "*"
	case 4:
		return "text/plain image/png"
	}
	return ""
}

func (r *propRun) addRandomParty() {
	uri := r.freshURI()
	if r.rng.IntN(4) == 0 {
		uri = r.md.sess[r.rng.IntN(len(r.md.sess))].uri // another device
	}
	private, aware := true, true
	switch r.rng.IntN(8) {
	case 0:
		private = false
	case 1:
		aware = false
	}
	r.addParty(uri, private, aware, r.randWrapped())
}

func (r *propRun) addParty(uri string, private, aware bool, accept string) {
	var opts []partyOption
	if !private {
		opts = append(opts, noPrivate)
	}
	if !aware {
		opts = append(opts, func(p *room.Participant) { p.Caps.ChatroomAware = false })
	}
	if accept != "" {
		opts = append(opts, wrapped(accept))
	}
	pt := r.h.join(propRoomName, uri, opts...)
	idx := len(r.parties)
	pp := &propParty{party: pt, idx: idx, in: startPropInbox(pt), want: map[string]int{}, what: map[string]string{}}
	r.parties = append(r.parties, pp)
	s := &propSession{idx: idx, uri: uri, private: private && aware}
	if accept != "" {
		s.wrapped = strings.Fields(strings.ToLower(accept))
	}
	r.md.sess = append(r.md.sess, s)
}

// step does one random thing.
func (r *propRun) step() {
	switch x := r.rng.IntN(100); {
	case x < 26:
		r.sendWhole(false)
	case x < 42:
		r.sendWhole(true)
	case x < 52:
		r.startChunked()
	case x < 80:
		r.continueChunked()
	case x < 83:
		r.abortChunked()
	case x < 93:
		r.nickname()
	case x < 97:
		r.barrier()
	case x < 98:
		if r.joins < 2 {
			r.lateJoin()
		}
	default:
		if r.leaves < 2 {
			r.leaveOne()
		}
	}
}

func (r *propRun) present() []int {
	var p []int
	for _, s := range r.md.sess {
		if !s.left {
			p = append(p, s.idx)
		}
	}
	return p
}

func (r *propRun) randSender() int {
	p := r.present()
	return p[r.rng.IntN(len(p))]
}

// roomTo is the room's URI as a sender may write it.
func (r *propRun) roomTo() string {
	u := roomURI(propRoomName)
	switch r.rng.IntN(10) {
	case 0:
		return u + ";transport=tcp"
	case 1:
		return "SIP" + strings.TrimPrefix(u, "sip")
	}
	return u
}

// privateTo is a private recipient: a member (present or gone, the sender
// included) under equivalent spellings, or nobody in the room.
func (r *propRun) privateTo() string {
	u := r.md.sess[r.rng.IntN(len(r.md.sess))].uri
	user, host, _ := strings.Cut(strings.TrimPrefix(u, "sip:"), "@")
	switch x := r.rng.IntN(20); {
	case x < 10:
		return u
	case x < 12:
		return "sip:" + user + "@" + strings.ToUpper(host) // host is case-insensitive
	case x < 14:
		return u + ";transport=tcp"
	case x < 16:
		return "sip:" + strings.ToUpper(user[:1]) + user[1:] + "@" + host // user is not: nobody
	case x < 18:
		return "sip:" + user + "@example.org"
	}
	return "sip:zed@example.com"
}

var propInner = []string{"text/plain", "text/plain;charset=utf-8", "text/html", "image/png", "application/json"}

// newMsg makes a message of sender: its CPIM body and its tag.
func (r *propRun) newMsg(sender int, private bool) *propMsg {
	pm := &propMsg{
		tag:    "m" + strconv.Itoa(r.nextTag),
		sender: sender,
		mid:    msrp.NewMessageID(),
		ctype:  "message/cpim",
		inner:  propInner[r.rng.IntN(len(propInner))],
		total:  msrp.Unknown,
	}
	r.nextTag++
	r.msgs[pm.tag] = pm
	if private {
		pm.to = r.privateTo()
	} else {
		pm.to = r.roomTo()
	}
	from := r.md.sess[sender].uri
	if r.rng.IntN(6) == 0 {
		user, host, _ := strings.Cut(from, "@")
		from = user + "@" + strings.ToUpper(host)
	}
	switch x := r.rng.IntN(100); {
	case x < 3:
		pm.bad, from = "from", "sip:mallory@example.com"
	case x < 6:
		pm.bad = "twoTo"
	case x < 8:
		pm.bad, pm.ctype = "type", "text/plain"
	}
	var b strings.Builder
	b.WriteString("From: ")
	if r.rng.IntN(4) == 0 {
		b.WriteString("\"Some One\" ")
	}
	b.WriteString("<" + from + ">\r\nTo: <" + pm.to + ">\r\n")
	if pm.bad == "twoTo" {
		b.WriteString("To: <" + r.md.sess[r.rng.IntN(len(r.md.sess))].uri + ">\r\n")
	}
	b.WriteString("Subject: " + pm.tag + "\r\n")
	if r.rng.IntN(4) == 0 {
		b.WriteString("DateTime: 2025-03-01T12:00:00Z\r\n")
	}
	if r.rng.IntN(5) != 0 {
		b.WriteString("\r\n") // RFC 3862 layout; else RFC 7701 §9's compact one
	}
	b.WriteString("Content-Type: " + pm.inner + "\r\n\r\n")
	pm.offset = b.Len()
	pm.body = append([]byte(b.String()), r.payload(pm.inner, 400)...)
	return pm
}

func (r *propRun) payload(inner string, maxLen int) []byte {
	n := r.rng.IntN(maxLen + 1)
	p := make([]byte, n)
	if inner == "image/png" {
		for i := range p {
			p[i] = byte(r.rng.UintN(256))
		}
		return p
	}
	const alphabet = "abcdefghij klmnop\r\n-$#+:<>\"ü"
	for i := range p {
		p[i] = alphabet[r.rng.IntN(len(alphabet))]
	}
	return p
}

// plan cuts pm into chunks: whole, or chunked with sizes from tiny (the
// CPIM headers over several chunks) to large, the total known or "*".
func (r *propRun) plan(pm *propMsg, chunked bool) {
	n := int64(len(pm.body))
	if !chunked {
		pm.chunks = []propChunk{{start: 1, end: n, total: n, flag: msrp.FlagEnd}}
		return
	}
	known := r.rng.IntN(3) != 0
	lastKnown := known || r.rng.IntN(2) == 0
	maxSize := []int{16, 64, 256}[r.rng.IntN(3)]
	for pos := int64(0); pos < n; {
		size := int64(1 + r.rng.IntN(maxSize))
		if pos == 0 {
			if r.rng.IntN(2) == 0 {
				size = int64(1 + r.rng.IntN(pm.offset+1)) // ends inside the headers, or right after them
			}
			size = min(size, n-1) // at least two chunks
		}
		end := min(pos+size, n)
		total := int64(msrp.Unknown)
		if known {
			total = n
		}
		pm.chunks = append(pm.chunks, propChunk{start: pos + 1, end: end, total: total, flag: msrp.FlagContinue})
		pos = end
	}
	last := &pm.chunks[len(pm.chunks)-1]
	last.flag = msrp.FlagEnd
	if lastKnown {
		last.total = n
	}
}

func (r *propRun) sendWhole(private bool) {
	pm := r.newMsg(r.randSender(), private)
	pm.sr = r.rng.IntN(5) == 0
	r.plan(pm, false)
	r.sendNext(pm)
}

func (r *propRun) startChunked() {
	sender := r.randSender()
	n := 0
	for _, pm := range r.active {
		if pm.sender == sender {
			n++
		}
	}
	if n >= 3 {
		r.continueChunked()
		return
	}
	pm := r.newMsg(sender, r.rng.IntN(3) == 0)
	pm.sr = r.rng.IntN(5) == 0
	r.plan(pm, true)
	r.active = append(r.active, pm)
	r.sendNext(pm)
}

func (r *propRun) continueChunked() {
	if len(r.active) == 0 {
		r.startChunked()
		return
	}
	r.sendNext(r.active[r.rng.IntN(len(r.active))])
}

// sendNext sends pm's next chunk. A refused message gets at most one more
// chunk (413); a finished one leaves r.active.
func (r *propRun) sendNext(pm *propMsg) {
	wasRefused := pm.state == propRefused
	c := pm.chunks[pm.next]
	pm.next++
	r.sendChunk(pm, c, fmt.Sprintf("chunk %d/%d", pm.next, len(pm.chunks)))
	if wasRefused || pm.next == len(pm.chunks) || pm.state == propDone ||
		pm.state == propRefused && r.rng.IntN(2) == 0 {
		r.retire(pm)
	}
}

func (r *propRun) retire(pm *propMsg) {
	for i, x := range r.active {
		if x == pm {
			r.active = append(r.active[:i], r.active[i+1:]...)
			return
		}
	}
}

// abortChunked interrupts a message in progress with an empty '#' chunk.
func (r *propRun) abortChunked() {
	var cands []*propMsg
	for _, pm := range r.active {
		if pm.next > 0 {
			cands = append(cands, pm)
		}
	}
	if len(cands) == 0 {
		r.continueChunked()
		return
	}
	pm := cands[r.rng.IntN(len(cands))]
	sent := pm.chunks[pm.next-1].end
	c := propChunk{start: sent + 1, end: sent, total: pm.chunks[pm.next].total, flag: msrp.FlagAbort}
	r.sendChunk(pm, c, "abort")
	r.retire(pm)
}

func (r *propRun) sendChunk(pm *propMsg, c propChunk, what string) {
	pp := r.parties[pm.sender]
	body := pm.body[c.start-1 : c.end]
	opts := []msrptest.Option{
		withRange(c.byteRange()),
		msrptest.WithFlag(c.flag),
		func(m *msrp.Message) { m.Header.Set(msrp.HeaderMessageID, pm.mid) },
	}
	if pm.sr {
		opts = append(opts, msrptest.WithHeader(msrp.HeaderSuccessReport, "yes"))
	}
	m := msrptest.Send(pp.sw, pp.self, pm.ctype, body, opts...)
	before := pm.state
	code := r.md.chunk(pm, c, body)
	r.count(pm, c, before, code)
	desc := fmt.Sprintf("#%d %s %s (%s, bad=%q, to %s, %s %s) → %d", pm.sender, pm.tag, what, pm.inner, pm.bad, pm.to, c.byteRange(), string(c.flag), code)
	if pm.state == propRouted || pm.state == propDone && code == 200 {
		desc += fmt.Sprintf(" rcpts %v", pm.rcpts)
	}
	r.expect(pp, m, code, desc)
	pp.Send(m)
}

// count notes the cases a chunk exercised.
func (r *propRun) count(pm *propMsg, c propChunk, before propState, code int) {
	kind := "regular"
	if propURIKey(pm.to) != propURIKey(r.md.roomURI) {
		kind = "private"
	}
	if len(pm.chunks) == 1 {
		r.stats[kind+"-whole-"+strconv.Itoa(code)]++
	} else {
		r.stats["chunk-"+strconv.Itoa(code)]++
	}
	switch {
	case before == propGathering && pm.state == propGathering:
		r.stats["headers-still-incomplete"]++
	case before == propGathering && pm.state != propGathering && c.flag != msrp.FlagAbort:
		r.stats["headers-completed-by-later-chunk"]++
	case c.flag == msrp.FlagAbort && before == propRouted:
		r.stats["abort-routed"]++
	case c.flag == msrp.FlagAbort:
		r.stats["abort-unrouted"]++
	}
	if code == 200 && kind == "private" && (before == propNew || before == propGathering) && pm.state != propGathering {
		uris := map[string]int{}
		for _, i := range pm.rcpts {
			uris[r.md.sess[i].uri]++
		}
		for _, n := range uris {
			if n > 1 {
				r.stats["private-to-several-devices"]++
			}
		}
	}
}

func (r *propRun) expect(pp *propParty, m *msrp.Message, code int, desc string) {
	pp.tids = append(pp.tids, m.TID)
	pp.want[m.TID] = code
	pp.what[m.TID] = desc
	r.tracef("%s", desc)
}

var propNicks = []string{"alpha", "Alpha", "ALPHA", "beta", "Beta", "gamma", "delta", "admin", "Admin", "", "  "}

// nickname sends a NICKNAME and waits for its answer: requests of
// different sessions race, so they go one at a time.
func (r *propRun) nickname() {
	i := r.randSender()
	pp := r.parties[i]
	nick := propNicks[r.rng.IntN(len(propNicks))]
	m := msrptest.Nickname(pp.sw, pp.self, nick)
	shared := false
	if key := strings.ToLower(strings.TrimSpace(nick)); key != "" {
		for j := range r.md.nickUsers[key] {
			shared = shared || j != i && propURIKey(r.md.sess[j].uri) == propURIKey(r.md.sess[i].uri)
		}
	}
	code := r.md.nickname(i, nick)
	r.stats["nickname-"+strconv.Itoa(code)]++
	if shared && code == msrp.StatusOK {
		r.stats["nickname-shared-by-devices"]++
	}
	r.expect(pp, m, code, fmt.Sprintf("#%d NICKNAME %q (%s) → %d", i, nick, r.md.sess[i].uri, code))
	pp.Send(m)
	r.waitResponses(pp)
}

// barrier waits until every request sent has its response.
func (r *propRun) barrier() {
	for _, pp := range r.parties {
		if !r.md.sess[pp.idx].left {
			r.waitResponses(pp)
		}
	}
}

func (r *propRun) waitResponses(pp *propParty) {
	want := len(pp.tids)
	if !pp.in.waitUntil(time.Now().Add(propWait), func(in *propInbox) bool { return len(in.resps) >= want }) {
		r.fatalf("#%d: %d responses, want %d", pp.idx, pp.in.count(), want)
	}
}

// quiesce waits until session i has everything the model sent it.
func (r *propRun) quiesce(pp *propParty, deadline time.Time) bool {
	resps, reports, copies := len(pp.tids), len(r.md.reports[pp.idx]), r.md.expected(pp.idx)
	return pp.in.waitUntil(deadline, func(in *propInbox) bool {
		return len(in.resps) >= resps && len(in.reports) >= reports && len(in.copies) >= copies
	})
}

// lateJoin adds a session (a new user or another device of one) between
// two quiet moments: the chunked messages routed before do not reach it.
func (r *propRun) lateJoin() {
	r.barrier()
	r.joins++
	r.stats["late-joins"]++
	r.addRandomParty()
	s := r.md.sess[len(r.md.sess)-1]
	r.tracef("#%d joins: %s private=%v wrapped=%q", s.idx, s.uri, s.private, strings.Join(s.wrapped, " "))
}

// leaveOne makes a session leave (what the focus does on BYE) once it has
// received all it should: what it was sending is aborted, it gets nothing
// more, its nickname goes.
func (r *propRun) leaveOne() {
	var cands []int
	for _, i := range r.present() {
		if i >= 2 {
			cands = append(cands, i)
		}
	}
	if len(cands) < 3 {
		return
	}
	i := cands[r.rng.IntN(len(cands))]
	r.barrier()
	pp := r.parties[i]
	if !r.quiesce(pp, time.Now().Add(propWait)) {
		r.fatalf("#%d did not get what it should before leaving", i)
	}
	var sending []*propMsg
	for _, pm := range append([]*propMsg(nil), r.active...) {
		if pm.sender == i {
			sending = append(sending, pm)
			r.retire(pm)
		}
	}
	r.leaves++
	r.stats["leaves"]++
	r.stats["aborted-by-leave"] += len(sending)
	r.md.leave(i, sending)
	r.tracef("#%d leaves (aborting %d messages)", i, len(sending))
	pp.in.closing.Store(true)
	pp.leave()
	pp.in.stop(pp.party)
}

// waitAll waits, bounded, until every session has at least what the model
// expects; verify tells what is missing if it times out.
func (r *propRun) waitAll() {
	deadline := time.Now().Add(propWait)
	for _, pp := range r.parties {
		if !r.md.sess[pp.idx].left && !r.quiesce(pp, deadline) {
			r.errorf("#%d: timed out waiting for its traffic", pp.idx)
		}
	}
}

func (r *propRun) stopAll() {
	for _, pp := range r.parties {
		pp.in.stop(pp.party)
	}
}

// verify compares what each session received with the model.
func (r *propRun) verify() {
	copyMID := map[string]string{} // tag → Message-ID of its copies
	midTag := map[string]string{}  // Message-ID of copies → tag
	for _, pp := range r.parties {
		in := pp.in
		in.mu.Lock()
		resps, reports, copies, other, err := in.resps, in.reports, in.copies, in.other, in.err
		in.mu.Unlock()
		if err != nil {
			r.errorf("#%d: connection: %v", pp.idx, err)
		}
		for _, m := range other {
			r.errorf("#%d: unexpected %s", pp.idx, msrptest.Describe(m))
		}

		// Responses: one per request, in order, with the model's status.
		for k, m := range resps {
			if k >= len(pp.tids) {
				r.errorf("#%d: unexpected %s", pp.idx, msrptest.Describe(m))
				continue
			}
			tid := pp.tids[k]
			if m.TID != tid {
				r.errorf("#%d: response %d is to %s, want to %s (%s)", pp.idx, k, m.TID, tid, pp.what[tid])
				continue
			}
			if m.Code != pp.want[tid] {
				r.errorf("#%d: got %d for %s", pp.idx, m.Code, pp.what[tid])
			}
		}
		for _, tid := range pp.tids[min(len(resps), len(pp.tids)):] {
			r.errorf("#%d: no response to %s", pp.idx, pp.what[tid])
		}

		// Success REPORTs, by the switch itself (SPEC §14 item 5).
		want := r.md.reports[pp.idx]
		for k, m := range reports {
			if k >= len(want) {
				r.errorf("#%d: unexpected REPORT for %s", pp.idx, m.MessageID())
				continue
			}
			if m.MessageID() != want[k].mid || m.Header.Get(msrp.HeaderByteRange) != want[k].br || m.Header.Get(msrp.HeaderStatus) != "000 200 OK" {
				r.errorf("#%d: REPORT %d: Message-ID %s Byte-Range %s Status %q, want %s %s", pp.idx, k,
					m.MessageID(), m.Header.Get(msrp.HeaderByteRange), m.Header.Get(msrp.HeaderStatus), want[k].mid, want[k].br)
			}
		}
		if len(reports) < len(want) {
			r.errorf("#%d: %d REPORTs, want %d", pp.idx, len(reports), len(want))
		}

		// Copies, by sending session.
		got := map[int][]propCopy{}
		tagOf := map[string]string{} // Message-ID → tag, for this recipient
		for _, m := range copies {
			r.checkEnvelope(pp, m)
			mid := m.MessageID()
			tag, ok := tagOf[mid]
			if !ok {
				tag = propTagOf(m.Body)
				if r.msgs[tag] == nil {
					r.errorf("#%d: copy %s %s %c of no message sent (%.60q)", pp.idx, mid, m.Header.Get(msrp.HeaderByteRange), m.EndFlag(), m.Body)
					continue
				}
				tagOf[mid] = tag
			}
			pm := r.msgs[tag]
			if old, ok := copyMID[tag]; ok && old != mid {
				r.errorf("#%d: copies of %s have Message-IDs %s and %s", pp.idx, tag, old, mid)
			}
			if old, ok := midTag[mid]; ok && old != tag {
				r.errorf("#%d: Message-ID %s used for %s and %s", pp.idx, mid, old, tag)
			}
			if mid == pm.mid {
				r.errorf("#%d: copy of %s reuses the sender's Message-ID", pp.idx, tag)
			}
			copyMID[tag], midTag[mid] = mid, tag
			got[pm.sender] = append(got[pm.sender], propCopy{tag: tag, br: m.Header.Get(msrp.HeaderByteRange), flag: m.EndFlag(), body: m.Body})
		}
		for s := range r.parties {
			r.compareCopies(pp.idx, s, got[s], r.md.copies[[2]int{pp.idx, s}])
		}
		r.reassemble(pp.idx, got)
	}
}

// compareCopies checks what recipient rc got from sending session s
// against the model, chunk by chunk, in order.
func (r *propRun) compareCopies(rc, s int, got, want []propCopy) {
	// The aborts of a leaving sender's messages come in any order: compare
	// each run of them sorted by message.
	got = slices.Clone(got)
	for i := 0; i < len(want); {
		j := i
		for j < len(want) && want[j].unordered {
			j++
		}
		if j > i+1 && j <= len(got) {
			byTag := func(a, b propCopy) int { return strings.Compare(a.tag, b.tag) }
			want = slices.Clone(want)
			slices.SortFunc(want[i:j], byTag)
			slices.SortFunc(got[i:j], byTag)
		}
		i = max(j, i+1)
	}
	for k := range max(len(got), len(want)) {
		switch {
		case k >= len(want):
			g := got[k]
			r.errorf("#%d: unexpected copy from #%d: %s %s %c (%d octets)", rc, s, g.tag, g.br, g.flag, len(g.body))
			continue
		case k >= len(got):
			w := want[k]
			r.errorf("#%d: missing copy from #%d: %s %s %c (%d octets)", rc, s, w.tag, w.br, w.flag, len(w.body))
			continue
		}
		g, w := got[k], want[k]
		if g.tag != w.tag || g.br != w.br || g.flag != w.flag {
			r.errorf("#%d: copy %d from #%d is %s %s %c, want %s %s %c", rc, k, s, g.tag, g.br, g.flag, w.tag, w.br, w.flag)
			return // the rest is shifted: one error is enough
		}
		if !bytes.Equal(g.body, w.body) {
			r.errorf("#%d: copy %d from #%d (%s %s): body %.80q, want %.80q", rc, k, s, g.tag, g.br, g.body, w.body)
		}
	}
}

// reassemble puts each message's chunks back together by Byte-Range: the
// ranges follow each other from 1, every message ends ('$' or '#') unless
// the recipient left meanwhile, and a finished message is the sender's body
// byte for byte.
func (r *propRun) reassemble(rc int, got map[int][]propCopy) {
	type asm struct {
		body []byte
		done bool
	}
	msgs := map[string]*asm{}
	for _, cs := range got {
		for _, c := range cs {
			a := msgs[c.tag]
			if a == nil {
				a = &asm{}
				msgs[c.tag] = a
			}
			br, err := msrp.ParseByteRange(c.br)
			if err != nil || a.done || br.Start != int64(len(a.body))+1 {
				r.errorf("#%d: %s: chunk %s %c after %d octets (done %v, %v)", rc, c.tag, c.br, c.flag, len(a.body), a.done, err)
				continue
			}
			a.body = append(a.body, c.body...)
			a.done = c.flag != msrp.FlagContinue
			if c.flag == msrp.FlagEnd && !bytes.Equal(a.body, r.msgs[c.tag].body) {
				r.errorf("#%d: %s reassembled differs from what was sent", rc, c.tag)
			}
		}
	}
	for tag, a := range msgs {
		if !a.done && !r.md.sess[rc].left { // one that left mid-message sees no end
			r.errorf("#%d: %s never ended (%d octets)", rc, tag, len(a.body))
		}
	}
}

func (r *propRun) checkEnvelope(pp *propParty, m *msrp.Message) {
	switch {
	case m.Header.Get(msrp.HeaderToPath) != pp.self.String():
		r.errorf("#%d: copy To-Path %q", pp.idx, m.Header.Get(msrp.HeaderToPath))
	case m.Header.Get(msrp.HeaderFromPath) != pp.sw.String():
		r.errorf("#%d: copy From-Path %q", pp.idx, m.Header.Get(msrp.HeaderFromPath))
	case m.ContentType() != "message/cpim":
		r.errorf("#%d: copy Content-Type %q", pp.idx, m.ContentType())
	case m.Header.Get(msrp.HeaderFailureReport) != "partial" || m.Header.Has(msrp.HeaderSuccessReport):
		r.errorf("#%d: copy report headers %q", pp.idx, m.Header)
	}
}

// propTagOf finds the CPIM Subject the test put in every message.
func propTagOf(body []byte) string {
	_, rest, ok := bytes.Cut(body, []byte("\r\nSubject: "))
	if !ok {
		return ""
	}
	tag, _, ok := bytes.Cut(rest, []byte("\r\n"))
	if !ok {
		return ""
	}
	return string(tag)
}

func (r *propRun) tracef(format string, args ...any) {
	r.trace = append(r.trace, fmt.Sprintf(format, args...))
}

func (r *propRun) errorf(format string, args ...any) {
	r.t.Helper()
	r.errs++
	if r.errs <= propMaxErrs {
		r.t.Errorf("seed %d: "+format, append([]any{r.seed}, args...)...)
	} else if r.errs == propMaxErrs+1 {
		r.t.Errorf("seed %d: more errors follow", r.seed)
	}
}

func (r *propRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.dumpTrace()
	r.t.Fatalf("seed %d: "+format, append([]any{r.seed}, args...)...)
}

func (r *propRun) dumpTrace() {
	const keep = 400
	tr := r.trace
	if len(tr) > keep {
		r.t.Logf("... %d earlier steps", len(tr)-keep)
		tr = tr[len(tr)-keep:]
	}
	r.t.Logf("steps of seed %d:\n%s", r.seed, strings.Join(tr, "\n"))
}

// propInbox collects, on its own goroutine, everything a session's
// connection receives, so that no recipient falls behind while the test
// sends.
type propInbox struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every arrival
	resps   []*msrp.Message
	reports []*msrp.Message
	copies  []*msrp.Message
	other   []*msrp.Message
	err     error
	closing atomic.Bool
	done    chan struct{}
	stopped bool // by stop; test goroutine only
}

func startPropInbox(pt *party) *propInbox {
	in := &propInbox{changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(in.done)
		for {
			m, err := pt.Next()
			var ne net.Error
			switch {
			case err == nil:
			case errors.As(err, &ne) && ne.Timeout() && !in.closing.Load():
				continue
			default:
				if !in.closing.Load() {
					in.update(func() { in.err = err })
				}
				return
			}
			in.update(func() {
				switch {
				case !m.IsRequest():
					in.resps = append(in.resps, m)
				case m.Method == msrp.MethodREPORT:
					in.reports = append(in.reports, m)
				case m.Method == msrp.MethodSEND:
					in.copies = append(in.copies, m)
				default:
					in.other = append(in.other, m)
				}
			})
		}
	}()
	return in
}

func (in *propInbox) update(f func()) {
	in.mu.Lock()
	f()
	close(in.changed)
	in.changed = make(chan struct{})
	in.mu.Unlock()
}

func (in *propInbox) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.resps)
}

// waitUntil waits, until deadline at most, for cond (called with in.mu
// held).
func (in *propInbox) waitUntil(deadline time.Time, cond func(*propInbox) bool) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		in.mu.Lock()
		ok, ch, failed := cond(in), in.changed, in.err != nil
		in.mu.Unlock()
		if ok {
			return true
		}
		if failed {
			return false
		}
		select {
		case <-ch:
		case <-in.done:
			in.mu.Lock()
			ok = cond(in)
			in.mu.Unlock()
			return ok
		case <-timer.C:
			return false
		}
	}
}

// stop ends the reader: the connection is closed, which the switch sees as
// the session ending.
func (in *propInbox) stop(pt *party) {
	if in.stopped {
		return
	}
	in.stopped = true
	in.closing.Store(true)
	_ = pt.Close()
	<-in.done
}
