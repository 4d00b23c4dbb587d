package focus

import (
	"time"

	"github.com/emiago/sipgo/sip"
)

// awaitAck looks after a 2xx to INVITE until its ACK arrives (acked is
// closed; see dialog.expectAck): over UDP it retransmits the 2xx, from T1
// doubling up to T2 (RFC 3261 §13.3.1.4), since sipgo leaves that to the
// transaction user; on any transport, a 2xx still unacknowledged after
// 64·T1 ends the dialog with BYE. A newer 2xx on the dialog supersedes
// this one (acked is closed then too). Shutdown stops it.
func (f *Focus) awaitAck(d *dialog, res *sip.Response, acked <-chan struct{}) {
	f.goTracked(func() {
		deadline := time.NewTimer(64 * f.cfg.T1)
		defer deadline.Stop()
		var retransmit <-chan time.Time
		interval := f.cfg.T1
		var timer *time.Timer
		if !sip.IsReliable(d.transport) {
			timer = time.NewTimer(interval)
			defer timer.Stop()
			retransmit = timer.C
		}
		for {
			select {
			case <-acked:
				return
			case <-f.done:
				return
			case <-retransmit:
				if err := f.client.TransportLayer().WriteMsg(res); err != nil {
					f.log.Debug("2xx retransmission failed", "room", d.roomName, "error", err)
				}
				interval = min(2*interval, sip.T2)
				timer.Reset(interval)
			case <-deadline.C:
				f.log.Info("no ACK for our 2xx; ending the dialog", "room", d.roomName, "participant", d.identity)
				d.mu.Lock()
				d.ackGivenUp = true
				d.mu.Unlock()
				f.endByFocus(d, reasonNoAck)
				return
			}
		}
	})
}
