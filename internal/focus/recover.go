package focus

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/sipcheck"
)

// guarded wraps every request handler (Register). It refuses a request
// without its mandatory header fields (sipcheck.CheckParsed: 400 naming
// the field; an ACK is dropped): the server's SIP guard has refused those
// before sipgo parsed them, except on a TCP connection the focus opened
// itself (to a participant's Contact), which sipgo reads directly. And it
// contains a panic while handling one request: the request gets 500
// (unless it is an ACK, which gets no answer), the panic is counted, the
// first one's stack is logged (later ones in one line), and the server
// goes on serving everyone else.
func (f *Focus) guarded(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		f.stats.requests[methodIndex(req.Method)].Add(1)
		if code, reason := sipcheck.CheckParsed(req); code != 0 {
			if req.Method != sip.ACK {
				f.respond(tx, req, code, reason)
			}
			return
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if f.panics.Add(1) == 1 {
				f.log.Error("panic handling a SIP request; answered 500", "method", string(req.Method), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			} else {
				f.log.Error("panic handling a SIP request; answered 500", "method", string(req.Method), "panic", fmt.Sprint(v), "panics", f.panics.Load())
			}
			if req.Method != sip.ACK {
				f.respond(tx, req, 500, "Server Internal Error")
			}
		}()
		h(req, tx)
	}
}

// Panics returns how many request handlers panicked (and were answered 500).
func (f *Focus) Panics() uint64 { return f.panics.Load() }

// retryAfter is the Retry-After of a 500 refusing a request that overlaps
// one still in progress: "a randomly chosen value of between 0 and 10
// seconds" (RFC 3261 §14.2), so that two user agents do not retry in step.
func retryAfter() sip.Header {
	return sip.NewHeader("Retry-After", strconv.Itoa(rand.IntN(11)))
}
