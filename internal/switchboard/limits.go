package switchboard

import "github.com/parley-im/parley/msrp"

// Bounded work per sender (issue 14). A chunked message in progress costs
// the switch a transfer (its timer, its recipients, and before routing the
// CPIM headers gathered so far) for up to the chunk timeout, 540 s; without
// a bound, one participant starting messages it never finishes could hold
// any amount of memory, and hanging up left one abort per message and
// recipient. So each sending session may have at most Config.MaxUnfinished
// chunked messages in progress, holding at most Config.MaxUnfinishedBytes
// octets received so far together:
//
//   - the chunk that would start one more (a first chunk with more to come)
//     is answered 413 with a reason phrase, and nothing of it is relayed.
//     RFC 4975 §7.3.1: 413 tells the sender to stop sending that message;
//     it may send it again once its others are done;
//   - a later chunk that would take the octets over MaxUnfinishedBytes is
//     answered 413 and its message aborted, as growth past max_message is.
//
// Whole messages (one chunk) are not counted: they leave no state.

// Reason phrases of the 413s.
const (
	reasonUnfinishedCount = "Too many unfinished messages"
	reasonUnfinishedBytes = "Unfinished messages too large"
)

// admit reports why l may not start a chunked message whose first chunk
// has n octets ("" when it may). On l's read goroutine, which alone adds
// transfers to l, so the answer holds until the transfer is added.
func (s *Switch) admit(l *link, n int64) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	count, held := l.unf.counts()
	switch {
	case count >= s.cfg.MaxUnfinished:
		return reasonUnfinishedCount
	case held+n > s.cfg.MaxUnfinishedBytes:
		return reasonUnfinishedBytes
	}
	return ""
}

// grow counts n more octets received of tr, l's transfer, or reports false
// when that would take l over MaxUnfinishedBytes.
func (s *Switch) grow(l *link, tr *transfer, n int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, held := l.unf.counts(); held+n > s.cfg.MaxUnfinishedBytes {
		return false
	}
	if u := l.unf; u != nil && u.byMID[tr.senderMID] == tr { // still counted
		u.held += n
		tr.held += n
	}
	return true
}

// refuseUnfinished answers msg 413 with reason (the relay's answers carry
// no reason phrase), counts it and returns 0 for HandleRequest.
func (s *Switch) refuseUnfinished(l *link, msg *msrp.Message, reason string) int {
	s.stats.refusedUnfinished.Add(1)
	s.stats.refused.Add(1)
	if msg.WantsResponse(msrp.StatusStopSending) {
		_ = l.send(msg.Response(msrp.StatusStopSending, reason))
	}
	return 0
}
