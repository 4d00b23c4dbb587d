package focus

import (
	"context"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// sendBye sends BYE on d from a goroutine tracked for Shutdown (RFC 3261
// §15.1.1). It first waits, bounded, for the ACK of our 2xx: a UAS must not
// send BYE on a dialog before the ACK arrives or the transaction times out.
// When the BYE transaction is over it closes d's MSRP session if asked.
func (f *Focus) sendBye(d *dialog, closeSession bool) {
	f.goBye(func() {
		defer f.dialogs.remove(d)
		if closeSession {
			defer func() {
				d.mu.Lock()
				sess := d.session
				d.mu.Unlock()
				if sess != nil {
					sess.Close()
				}
			}()
		}
		ctx, cancel := context.WithTimeout(context.Background(), f.cfg.ByeTimeout)
		defer cancel()
		select {
		case <-d.acked:
		case <-ctx.Done():
		}
		bye := f.buildBye(d)
		tx, err := f.client.TransactionRequest(ctx, bye, sipgo.ClientRequestAddVia)
		if err != nil {
			f.log.Debug("sending BYE failed", "room", d.roomName, "participant", d.identity, "error", err)
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
				return
			}
		}
	})
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
	bye.SetDestination(d.source)
	return bye
}
