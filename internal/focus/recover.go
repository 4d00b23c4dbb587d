package focus

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// recovering wraps a request handler so that a panic while handling one
// request is contained there: the request gets 500 (unless it is an ACK,
// which gets no answer), the panic is counted, the first one's stack is
// logged (later ones in one line), and the server goes on serving everyone
// else. This is defence in depth: the server's SIP guard
// (internal/sipcheck) refuses malformed requests before any handler runs.
func (f *Focus) recovering(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
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
