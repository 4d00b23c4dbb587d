package focus

import (
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// Stats are the focus's counters (issue 18's metrics). SIP traffic is a
// small fraction of a chat server's work (a join is one INVITE for many
// messages), so these are plain atomics and one mutex-guarded map.
type Stats struct {
	// Requests counts the requests the focus handled, by method (those the
	// SIP guard answered before the focus saw them are the guard's).
	Requests map[string]uint64
	// Responses counts the responses the focus sent, by the method of the
	// request they answer and status code.
	Responses map[ResponseKey]uint64
	// Joins counts participants admitted to a room (a 200 to an INVITE
	// outside a dialog); Leaves those who left it for any reason (BYE,
	// their MSRP session ending, kicked, their room deleted, shutdown).
	Joins, Leaves uint64
	// Auth counts what authentication answered instead of admitting:
	// "challenged" (401), "refused" (403: a wrong password, an unknown
	// user, a From that is not the authenticated user, a guest refused),
	// "malformed" (400).
	Auth map[string]uint64
	// Dialogs and Subscriptions are the live ones.
	Dialogs, Subscriptions int
	// Kicked counts participants removed by an operator (Kick), and
	// RoomsDeleted rooms deleted by one (DeleteRoom).
	Kicked, RoomsDeleted uint64
}

// ResponseKey is a Stats.Responses key.
type ResponseKey struct {
	Method string
	Code   int
}

// statMethods are the methods counted by name; others count as "other".
var statMethods = [...]sip.RequestMethod{sip.INVITE, sip.ACK, sip.BYE, sip.CANCEL, sip.OPTIONS, sip.SUBSCRIBE, sip.NOTIFY, sip.INFO, sip.MESSAGE}

const otherMethod = len(statMethods)

func methodIndex(m sip.RequestMethod) int {
	for i, x := range statMethods {
		if x == m {
			return i
		}
	}
	return otherMethod
}

func methodName(i int) string {
	if i == otherMethod {
		return "other"
	}
	return string(statMethods[i])
}

// counters are the live counters behind Stats.
type counters struct {
	requests             [len(statMethods) + 1]atomic.Uint64
	joins, leaves        atomic.Uint64
	kicked, roomsDeleted atomic.Uint64
	challenged, refused  atomic.Uint64
	malformed            atomic.Uint64

	mu        sync.Mutex
	responses map[ResponseKey]uint64
}

func (c *counters) response(res *sip.Response) {
	method := "other"
	if cseq := res.CSeq(); cseq != nil {
		method = methodName(methodIndex(cseq.MethodName))
	}
	c.mu.Lock()
	if c.responses == nil {
		c.responses = make(map[ResponseKey]uint64)
	}
	c.responses[ResponseKey{method, res.StatusCode}]++
	c.mu.Unlock()
}

// authAnswer counts an Authenticator's answer other than admission.
func (c *counters) authAnswer(res *sip.Response) {
	switch {
	case res.StatusCode == 401 || res.StatusCode == 407:
		c.challenged.Add(1)
	case res.StatusCode == 400:
		c.malformed.Add(1)
	default:
		c.refused.Add(1)
	}
}

// Stats returns a snapshot of the focus's counters.
func (f *Focus) Stats() Stats {
	c := &f.stats
	st := Stats{
		Requests:      make(map[string]uint64, len(c.requests)),
		Joins:         c.joins.Load(),
		Leaves:        c.leaves.Load(),
		Kicked:        c.kicked.Load(),
		RoomsDeleted:  c.roomsDeleted.Load(),
		Auth:          map[string]uint64{"challenged": c.challenged.Load(), "refused": c.refused.Load(), "malformed": c.malformed.Load()},
		Dialogs:       f.Dialogs(),
		Subscriptions: f.Subscriptions(),
	}
	for i := range c.requests {
		if n := c.requests[i].Load(); n > 0 {
			st.Requests[methodName(i)] = n
		}
	}
	c.mu.Lock()
	st.Responses = make(map[ResponseKey]uint64, len(c.responses))
	for k, v := range c.responses {
		st.Responses[k] = v
	}
	c.mu.Unlock()
	return st
}
