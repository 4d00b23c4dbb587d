package focus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/internal/conference"
)

// errNoProbeAnswer: the pending NOTIFY of an unverified UDP subscriber
// went unanswered.
var errNoProbeAnswer = errors.New("no answer to the pending NOTIFY")

// probeWait bounds the wait for the answer to a pending NOTIFY. Nothing is
// retransmitted meanwhile, so a long wait costs the address nothing.
const probeWait = 5 * time.Second

// probes routes the answers to pending NOTIFYs, which go out without a
// client transaction (see probe), by the branch of their Via.
type probes struct {
	mu      sync.Mutex // leaf
	waiting map[string]chan *sip.Response
}

func (p *probes) add(branch string) chan *sip.Response {
	ch := make(chan *sip.Response, 1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiting == nil {
		p.waiting = make(map[string]chan *sip.Response)
	}
	p.waiting[branch] = ch
	return ch
}

func (p *probes) remove(branch string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.waiting, branch)
}

// StrayResponse takes a response that matched no client transaction of
// the user agent (sip.WithTransactionLayerUnhandledResponseHandler): the
// answer to a pending NOTIFY, or a late retransmission, which is dropped.
func (f *Focus) StrayResponse(res *sip.Response) {
	via := res.Via()
	if via == nil {
		return
	}
	branch, _ := via.Params.Get("branch")
	f.probes.mu.Lock()
	ch := f.probes.waiting[branch]
	f.probes.mu.Unlock()
	if ch == nil || res.IsProvisional() {
		return
	}
	select {
	case ch <- res:
	default:
	}
}

// probe sends the pending NOTIFY of an unverified UDP subscription (see
// SendNotify) and waits for its final answer. It goes outside any client
// transaction, so that no timer E retransmits it (RFC 3261 §17.1.2.2):
// this function alone decides what the address gets — as many sends as
// the subscription's udpBudget allows (at least one, at most four), T1,
// 2T1, 4T1 apart (capped at T2) — and then waits up to probeWait for the
// answer, which arrives as a stray response (StrayResponse). The address
// never gets more than the budget, whether or not it answers.
func (f *Focus) probe(ctx context.Context, s *subscription, n conference.Notify) error {
	req, _ := f.buildNotify(s, conference.Notify{Expires: n.Expires, Pending: true}, true)
	if err := sipgo.ClientRequestAddVia(f.client, req); err != nil {
		return fmt.Errorf("pending NOTIFY: %w", err)
	}
	branch, _ := req.Via().Params.Get("branch")
	answers := f.probes.add(branch)
	defer f.probes.remove(branch)

	sends := 1
	if size := len(req.String()); size > 0 {
		sends = min(max(1, s.udpBudget/size), 4)
	}
	keep := func(*sipgo.Client, *sip.Request) error { return nil } // the Via is in
	ctx, cancel := context.WithTimeout(ctx, probeWait)
	defer cancel()
	interval := sip.T1
	for i := range sends {
		if err := f.client.WriteRequest(req, keep); err != nil {
			return fmt.Errorf("pending NOTIFY: %w", err)
		}
		wait := time.NewTimer(interval)
		if i == sends-1 {
			wait.Reset(time.Until(deadlineOf(ctx)))
		}
		select {
		case res := <-answers:
			wait.Stop()
			if !res.IsSuccess() {
				return fmt.Errorf("pending NOTIFY answered %d", res.StatusCode)
			}
			return nil
		case <-f.done:
			wait.Stop()
			return errGaveUp
		case <-ctx.Done():
			wait.Stop()
			return errNoProbeAnswer
		case <-wait.C:
		}
		interval = min(2*interval, sip.T2)
	}
	return errNoProbeAnswer
}

// deadlineOf is ctx's deadline (ctx has one: probe sets it).
func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}
