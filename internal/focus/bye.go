package focus

import (
	"context"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// sendBye sends BYE on d from a tracked goroutine (RFC 3261 §15.1.1). It
// first waits, up to ByeTimeout, for the ACK of our 2xx (a UAS must not send
// BYE before the ACK arrives or the transaction times out), then gives the
// BYE transaction ByeTimeout of its own, so that over UDP it is
// retransmitted and its answer awaited. When it is over, d leaves the
// table and, if asked, its MSRP session closes.
func (f *Focus) sendBye(d *dialog, closeSession bool) {
	finish := func() {
		f.dialogs.remove(d)
		if closeSession {
			d.mu.Lock()
			sess := d.session
			d.mu.Unlock()
			if sess != nil {
				sess.Close()
			}
		}
	}
	started := f.goTracked(func() {
		defer finish()
		d.mu.Lock()
		givenUp := d.ackGivenUp
		d.mu.Unlock()
		if !givenUp {
			wait := time.NewTimer(f.cfg.ByeTimeout)
			select {
			case <-d.acked:
			case <-wait.C:
			}
			wait.Stop()
		}
		ctx, cancel := context.WithTimeout(context.Background(), f.cfg.ByeTimeout)
		defer cancel()
		tx, err := f.client.TransactionRequest(ctx, f.buildBye(d), sipgo.ClientRequestAddVia)
		if err != nil {
			f.log.Info("sending BYE failed", "room", d.roomName, "participant", d.identity, "error", err)
			return
		}
		defer tx.Terminate()
		for {
			select {
			case res := <-tx.Responses():
				if res.IsProvisional() {
					continue
				}
				return
			case <-tx.Done():
				return
			case <-ctx.Done():
				f.log.Info("BYE unanswered", "room", d.roomName, "participant", d.identity)
				return
			}
		}
	})
	if !started {
		finish() // the focus is shut down: nothing more goes out
	}
}

// byeDestination is where an in-dialog request goes: over UDP, back to the
// address the INVITE came from (symmetric response routing, the usual way
// through NATs); over TCP, on the participant's connection while it is
// open, else to its Contact (the remote target, RFC 3261 §12.2.1.1).
func (f *Focus) byeDestination(d *dialog) string {
	if !sip.IsReliable(d.transport) {
		return d.source
	}
	if pool := f.client.TransportLayer().Pool(d.transport); pool != nil {
		if c := pool.Get(d.source); c != nil {
			c.Ref(-1)
			return d.source
		}
	}
	return "" // resolved from the Request-URI, the Contact
}

// buildBye builds the BYE of dialog d, sent to the address the INVITE came
// from, over the same transport. sipgo adds only the Via
// (ClientRequestAddVia): the dialog layer fills in everything else.
func (f *Focus) buildBye(d *dialog) *sip.Request {
	d.mu.Lock()
	target, local, callID := d.target, d.local, d.key.callID
	d.mu.Unlock()
	bye := sip.NewRequest(sip.BYE, target)
	from := local.AsFrom()
	to := d.remote.AsTo()
	bye.AppendHeader(&from)
	bye.AppendHeader(&to)
	cid := sip.CallIDHeader(callID)
	bye.AppendHeader(&cid)
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: d.nextLocalCSeq(), MethodName: sip.BYE})
	mf := sip.MaxForwardsHeader(70)
	bye.AppendHeader(&mf)
	for _, r := range d.routeSet {
		bye.AppendHeader(sip.NewHeader("Route", r))
	}
	bye.SetBody(nil) // Content-Length: 0, required on stream transports
	bye.SetTransport(d.transport)
	if dest := f.byeDestination(d); dest != "" {
		bye.SetDestination(dest)
	}
	return bye
}
