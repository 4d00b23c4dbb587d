package focus

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// sendBye sends BYE on d from a tracked goroutine (RFC 3261 §15.1.1). It
// first waits for the ACK of our 2xx (awaitAckBeforeBye), then gives the
// BYE transaction ByeTimeout of its own, so that over UDP it is
// retransmitted and its answer awaited. When it is over, d leaves the
// table and, if asked, its MSRP session closes.
func (f *Focus) sendBye(d *dialog, closeSession bool) {
	finish := func() {
		f.forget(d)
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
		if !givenUp && !f.awaitAckBeforeBye(d) {
			f.log.Info("dialog ended at shutdown before its ACK; no BYE", "room", d.roomName, "participant", d.identity)
			return
		}
		if !d.wasHeard() && !sip.IsReliable(d.transport) {
			// RFC 3261 §13.3.1.4 says a 2xx never ACKed within 64·T1
			// "SHOULD" end the session with a BYE. Over UDP, when
			// nothing but the INVITE ever came from that address (no
			// ACK, no other request in the dialog), the INVITE's source
			// may be spoofed: every BYE retransmission would be traffic
			// aimed at a third party that asked for none (a 2xx already
			// went there eleven times). So the dialog ends here without
			// one; a real participant that lost every 2xx learns of the
			// end from its MSRP session, which closes (issue 14).
			f.log.Info("nothing heard from the participant over UDP; dialog ended without BYE", "room", d.roomName, "participant", d.identity)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), f.cfg.ByeTimeout)
		defer cancel()
		if _, err := f.transact(ctx, f.buildBye(d), nil); err != nil {
			f.log.Info("BYE failed", "room", d.roomName, "participant", d.identity, "error", err)
		}
	})
	if !started {
		finish() // the focus is shut down: nothing more goes out
	}
}

// errGaveUp: the request went out, but its answer is no longer awaited.
var errGaveUp = errors.New("answer not awaited: shutting down")

// errNoWebSocket: a request to a WebSocket client whose connection is gone.
// Nobody can connect to a WebSocket client (RFC 7118 §5: its Contact host
// is a .invalid name), so the request is not sent at all.
var errNoWebSocket = errors.New("the participant's WebSocket connection is closed")

// webSocket reports whether transport is SIP over WebSocket (WS or WSS).
func webSocket(transport string) bool {
	return strings.EqualFold(transport, "WSS") || strings.EqualFold(transport, "WS")
}

// transact sends req in a client transaction and returns its final
// response, or an error when sending failed, no final response came before
// ctx ended (over UDP the transaction retransmits meanwhile), or giveUp
// closed first (errGaveUp; nil: never).
func (f *Focus) transact(ctx context.Context, req *sip.Request, giveUp <-chan struct{}) (*sip.Response, error) {
	if webSocket(req.Transport()) && req.Destination() == "" {
		return nil, errNoWebSocket
	}
	tx, err := f.client.TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, sip.ErrTransactionTerminated
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-giveUp:
			return nil, errGaveUp
		}
	}
}

// hop is where a dialog's requests go: the transport and source address
// of the request that created it.
type hop struct {
	transport string // "UDP", "TCP", …
	source    string // host:port the creating request came from
}

// destination is where an in-dialog request goes: over UDP, back to the
// address the dialog's first request came from (symmetric response
// routing, the usual way through NATs); over TCP, on the peer's connection
// while it is open, else to its Contact (the remote target, RFC 3261
// §12.2.1.1); over a WebSocket, on the peer's connection or nowhere
// ("": transact refuses it, errNoWebSocket).
func (f *Focus) destination(p hop) string {
	if !sip.IsReliable(p.transport) {
		return p.source
	}
	if pool := f.client.TransportLayer().Pool(p.transport); pool != nil {
		if c := pool.Get(p.source); c != nil {
			c.Ref(-1)
			return p.source
		}
	}
	return "" // resolved from the Request-URI, the Contact
}

// inDialog builds a request of our side of a dialog (RFC 3261 §12.2.1.1):
// Request-URI the remote target, From our side, To the peer's, the dialog's
// Call-ID, our next CSeq, its route set; sent over the dialog's transport.
// sipgo adds only the Via (ClientRequestAddVia).
func (f *Focus) inDialog(method sip.RequestMethod, target sip.Uri, local sip.ToHeader, remote sip.FromHeader,
	callID string, cseq uint32, routeSet []string, p hop) *sip.Request {
	req := sip.NewRequest(method, target)
	from := local.AsFrom()
	to := remote.AsTo()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, r := range routeSet {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	req.SetTransport(p.transport)
	if f.cfg.UDP != nil && !sip.IsReliable(p.transport) {
		req.Laddr = sip.Addr{IP: f.cfg.UDP.IP, Port: f.cfg.UDP.Port}
	}
	if dest := f.destination(p); dest != "" {
		req.SetDestination(dest)
	}
	return req
}

// buildBye builds the BYE of dialog d.
func (f *Focus) buildBye(d *dialog) *sip.Request {
	d.mu.Lock()
	target, local, callID, reason := d.targetURI(), d.local, d.key.callID, d.byeReason
	d.mu.Unlock()
	p := hop{d.transport, d.source}
	bye := f.inDialog(sip.BYE, target, local.to(), d.remote.from(), callID, d.nextLocalCSeq(), d.routeSet, p)
	if reason != "" {
		bye.AppendHeader(sip.NewHeader("Reason", reason))
	}
	bye.SetBody(nil)                    // Content-Length: 0, required on stream transports
	f.overStream(bye, p, target, false) // a long route set could make it large
	return bye
}

// awaitAckBeforeBye waits until d's first 2xx is acknowledged or its
// server transaction has timed out, 64·T1 after it was sent: a UAS "MUST
// NOT send a BYE on a confirmed dialog until it has received an ACK for
// its 2xx response or until the server transaction times out" (RFC 3261
// §15). Once the focus shuts down it waits ByeTimeout at most, and reports
// false when no ACK came: such a dialog is ended without BYE (its MSRP
// session still closes), which keeps shutdown bounded without breaking
// that rule.
func (f *Focus) awaitAckBeforeBye(d *dialog) bool {
	d.mu.Lock()
	sent, acked := d.answeredAt, d.acked
	d.mu.Unlock()
	wait := time.NewTimer(max(0, 64*f.cfg.T1-time.Since(sent)))
	defer wait.Stop()
	done := f.done
	var grace <-chan time.Time // set once the focus shuts down
	for {
		select {
		case <-acked:
			return true
		case <-wait.C:
			return true
		case <-done:
			// An ACK may be on its way: give it ByeTimeout more.
			t := time.NewTimer(f.cfg.ByeTimeout)
			defer t.Stop()
			done, grace = nil, t.C
		case <-grace:
			return false
		}
	}
}
