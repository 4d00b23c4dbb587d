package focus

import (
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
)

// dialogState is where a dialog is in its life.
type dialogState uint8

const (
	stateAccepted   dialogState = iota // 2xx sent, ACK not yet received
	stateConfirmed                     // ACK received
	stateTerminated                    // BYE sent or received, or the session failed
)

// dialogKey identifies a dialog at the focus (RFC 3261 §12): Call-ID,
// local tag (ours, in To) and remote tag (the participant's, in From).
type dialogKey struct {
	callID, localTag, remoteTag string
}

// dialog is one participant's SIP dialog with the focus.
type dialog struct {
	key dialogKey

	// Immutable after creation.
	roomName  string
	transport string     // "UDP", "TCP", …: in-dialog requests use the same
	source    string     // where the INVITE came from: in-dialog requests go there
	local     addrHeader // our side as in our 2xx's To (room URI + our tag)
	remote    addrHeader // the participant's From (its URI + tag)
	identity  string     // the participant's URI, kept for the switch's From check
	routeSet  []string   // Record-Route values, in order (RFC 3261 §12.1.1)
	charge    *charge    // what it holds against its source and identity (limits.go)

	mu          sync.Mutex // guards everything below
	state       dialogState
	remoteCSeq  uint32        // highest CSeq seen from the participant
	localCSeq   uint32        // our CSeq for requests we send
	answered    uint32        // CSeq of the latest INVITE we answered 2xx
	pendingAck  uint32        // CSeq whose 2xx awaits its ACK (0: none)
	ackNow      chan struct{} // closed when pendingAck's ACK arrives
	acked       chan struct{} // closed on the first ACK, then replaced by ackedDone
	answeredAt  time.Time     // when the first 2xx went out: a BYE waits for its ACK up to 64·T1 from then
	ackGivenUp  bool          // no ACK within 64·T1: a BYE need not wait for one
	inviting    bool          // a re-INVITE is being processed
	heard       bool          // a request of the dialog arrived (ACK, BYE, re-INVITE, …): the INVITE's source receives what we send
	target      string        // remote target: the participant's Contact URI
	sdpSessID   uint64        // o= session-id of our answers
	sdpVersion  uint64        // o= version of our last answer
	answerSum   [32]byte      // SHA-256 of our last SDP answer: a re-INVITE's answer is compared with it
	peerPath    []msrp.URI
	session     Session
	room        *room.Room
	participant *room.Participant
	byeReason   string // the Reason of our BYE (RFC 3326), "" for none

	nick nickState // draft-niemi-00 nickname offer/answer (nickinfo.go); its own lock
}

// expectAck records a 2xx sent for the INVITE with CSeq cseq and returns the
// channel closed when its ACK arrives. Only the latest 2xx awaits its ACK:
// the state a dialog keeps does not grow with the number of re-INVITEs.
func (d *dialog) expectAck(cseq uint32) <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pendingAck != 0 {
		close(d.ackNow) // superseded: the newer 2xx carries on
	}
	d.answered, d.pendingAck, d.ackNow = cseq, cseq, make(chan struct{})
	if d.answeredAt.IsZero() {
		d.answeredAt = time.Now() // the 2xx that the first ACK (acked) confirms
	}
	return d.ackNow
}

// ack records an ACK with the given CSeq. An ACK for any INVITE we answered
// confirms the dialog (a late ACK of the initial INVITE after a re-INVITE
// included); the one for the latest 2xx also stops its retransmission.
func (d *dialog) ack(cseq uint32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if cseq == 0 || cseq > d.answered {
		return false
	}
	if cseq == d.pendingAck {
		d.pendingAck = 0
		close(d.ackNow)
		d.ackNow = nil // its waiter holds it; an idle dialog keeps none
	}
	if d.state == stateAccepted {
		d.state = stateConfirmed
	}
	if d.acked != ackedDone {
		close(d.acked) // wakes a BYE waiting for it (awaitAckBeforeBye)
		d.acked = ackedDone
	}
	return true
}

// ackedDone is every confirmed dialog's acked: a channel already closed,
// shared, so that a dialog does not keep its own for good (issue 20: the
// 112-octet channel was the one object per participant in its size class,
// where the joins' timers and SIP transactions leave a span resident for
// each).
var ackedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// terminate moves the dialog to its end; it reports whether this call did it.
func (d *dialog) terminate() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == stateTerminated {
		return false
	}
	d.state = stateTerminated
	return true
}

func (d *dialog) terminated() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state == stateTerminated
}

// checkCSeq applies RFC 3261 §12.2.2 to a request other than ACK/CANCEL: a
// CSeq lower than one already seen is out of order (answer 500). Requests
// may arrive out of order from sipgo's goroutines, but a participant's
// requests carry increasing CSeqs, so a lower one is a genuine error or a
// stale retransmission.
func (d *dialog) checkCSeq(n uint32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n < d.remoteCSeq {
		return false
	}
	d.remoteCSeq = n
	return true
}

func (d *dialog) nextLocalCSeq() uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.localCSeq++
	return d.localCSeq
}

// table holds live dialogs (INVITE dialogs, subscriptions) by key.
type table[V comparable] struct {
	mu sync.Mutex
	m  map[dialogKey]V
}

func (t *table[V]) put(k dialogKey, v V) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[dialogKey]V)
	}
	t.m[k] = v
}

func (t *table[V]) get(k dialogKey) V {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[k]
}

// remove deletes k if it still maps to v.
func (t *table[V]) remove(k dialogKey, v V) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[k] == v {
		delete(t.m, k)
	}
}

func (t *table[V]) all() []V {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]V, 0, len(t.m))
	for _, v := range t.m {
		out = append(out, v)
	}
	return out
}

func (t *table[V]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// dialogOf returns the dialog an in-dialog request belongs to, or nil.
// Such a request carries our To tag, which only our 2xx told: so the
// dialog's source has shown that it receives what we send (heard), and
// is no spoofed address.
func (f *Focus) dialogOf(req *sip.Request) *dialog {
	k, ok := keyOf(req)
	if !ok {
		return nil
	}
	d := f.dialogs.get(k)
	if d != nil && d.markHeard() {
		f.ledger.markHeard(d.charge)
	}
	return d
}

// markHeard records that a request of d arrived; true the first time.
func (d *dialog) markHeard() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.heard {
		return false
	}
	d.heard = true
	return true
}

func (d *dialog) wasHeard() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.heard
}

// liveDialog returns the live dialog of an in-dialog request that must not
// arrive out of order (re-INVITE, INFO, MESSAGE), or answers it — 481 for
// no such dialog or one that has ended, 500 for a missing CSeq or one
// lower than already seen (RFC 3261 §12.2.2) — and returns nil.
func (f *Focus) liveDialog(req *sip.Request, tx sip.ServerTransaction) *dialog {
	d := f.dialogOf(req)
	if d == nil || d.terminated() {
		f.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return nil
	}
	if cseq := req.CSeq(); cseq == nil || !d.checkCSeq(cseq.SeqNo) {
		f.respond(tx, req, 500, "CSeq Out of Order")
		return nil
	}
	return d
}

// keyOf returns the dialog key of an in-dialog request received by the focus.
func keyOf(req *sip.Request) (dialogKey, bool) {
	from, to, cid := req.From(), req.To(), req.CallID()
	if from == nil || to == nil || cid == nil {
		return dialogKey{}, false
	}
	lt, ok1 := to.Params.Get("tag")
	rt, ok2 := from.Params.Get("tag")
	if !ok1 || !ok2 || lt == "" {
		return dialogKey{}, false
	}
	return dialogKey{callID: cid.Value(), localTag: lt, remoteTag: rt}, true
}

// addrHeader is a To or From header kept as the text of its value: what a
// dialog keeps for its whole life, while sipgo's parsed header is several
// hundred bytes with its parameter arrays and may hold on to the text of
// the request it came in (issue 20). The rare request that needs it (BYE,
// a subscription) parses it again.
type addrHeader string

// to returns the header as a To header.
func (a addrHeader) to() sip.ToHeader {
	h := sip.ToHeader{Params: sip.NewParams()}
	h.DisplayName, _ = sip.ParseAddressValue(string(a), &h.Address, &h.Params)
	return h
}

// from returns the header as a From header.
func (a addrHeader) from() sip.FromHeader {
	h := sip.FromHeader{Params: sip.NewParams()}
	h.DisplayName, _ = sip.ParseAddressValue(string(a), &h.Address, &h.Params)
	return h
}

// targetURI returns the dialog's remote target. d.mu is held.
func (d *dialog) targetURI() sip.Uri {
	var u sip.Uri
	sip.ParseUri(d.target, &u) // written by sip.Uri.String: parses
	return u
}
