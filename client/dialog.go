package client

import (
	"crypto/rand"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// allowMethods is our Allow header: the requests a Session accepts (an
// INVITE from the focus, e.g. a re-INVITE, is refused with 405 by sipgo).
const allowMethods = "ACK, BYE, NOTIFY, OPTIONS"

// dialog is our side of the INVITE dialog with the focus (RFC 3261 §12),
// or of a roster subscription's dialog (subscription.go, which uses
// neither inviteSeq nor privacy).
// We build every request ourselves; sipgo only adds the Via (and, for UDP,
// the local address) when it sends them. Record-Route is not handled: the
// focus is reached directly, as parleyd is.
type dialog struct {
	// Fixed before the INVITE.
	callID    string
	localTag  string
	from      sip.Uri // the participant
	display   string
	room      sip.Uri // Request-URI of the INVITE, To of every request
	roomDest  string  // host:port the INVITE goes to
	contact   *sip.ContactHeader
	transport string
	privacy   bool // add "Privacy: id" to the INVITE
	inviteSeq uint32

	mu        sync.Mutex // guards the fields below, learnt from the 2xx
	remoteTag string
	target    sip.Uri // the focus's Contact: Request-URI of in-dialog requests
	dest      string  // host:port of target
	cseq      uint32  // the last CSeq we used
}

// newDialog starts the dialog with room; dest is where the INVITE goes.
func newDialog(c *settings, room sip.Uri, dest string, a *agent) *dialog {
	seq := randUint32()&0x7fffffff | 1 // 1…2^31-1 (RFC 3261 §8.1.1.5)
	return &dialog{
		callID:    sip.GenerateTagN(24) + "@" + a.host,
		localTag:  sip.GenerateTagN(16),
		from:      c.from,
		display:   c.display,
		room:      room,
		roomDest:  dest,
		contact:   a.contact(c.from.User),
		transport: c.transport,
		privacy:   c.privacy,
		inviteSeq: seq,
		cseq:      seq,
	}
}

// base builds a request with the dialog's From, To (with the remote tag
// once known), Call-ID, CSeq and Max-Forwards, sent to dest.
func (d *dialog) base(method sip.RequestMethod, target sip.Uri, remoteTag string, seq uint32, dest string) *sip.Request {
	req := sip.NewRequest(method, target)
	from := &sip.FromHeader{DisplayName: d.display, Address: *d.from.Clone(), Params: sip.NewParams()}
	from.Params.Add("tag", d.localTag)
	to := &sip.ToHeader{Address: sip.Uri{Scheme: d.room.Scheme, User: d.room.User, Host: d.room.Host, Port: d.room.Port}, Params: sip.NewParams()}
	if remoteTag != "" {
		to.Params.Add("tag", remoteTag)
	}
	cid := sip.CallIDHeader(d.callID)
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(&mf)
	req.SetTransport(d.transport)
	req.SetDestination(dest)
	return req
}

// invite builds the INVITE carrying the SDP offer, with "Privacy: id"
// when Options.Privacy asks for it.
func (d *dialog) invite(offer []byte) *sip.Request {
	req := d.base(sip.INVITE, *d.room.Clone(), "", d.inviteSeq, d.roomDest)
	req.AppendHeader(d.contact.Clone())
	req.AppendHeader(sip.NewHeader("Allow", allowMethods))
	if d.privacy {
		req.AppendHeader(sip.NewHeader("Privacy", "id")) // RFC 3323 §4.2, RFC 3325 §9.3
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)
	return req
}

// nextInvite makes the next INVITE a new transaction: the INVITE sent
// again with credentials after a challenge (RFC 3261 §22.2: the same
// Call-ID and tags, the CSeq incremented).
func (d *dialog) nextInvite() {
	d.mu.Lock()
	d.cseq++
	d.inviteSeq = d.cseq
	d.mu.Unlock()
}

// cancel builds the CANCEL of inv (RFC 3261 §9.1): same Request-URI,
// Call-ID, From, To, CSeq number and top Via as the INVITE.
func (d *dialog) cancel(inv *sip.Request) *sip.Request {
	req := d.base(sip.CANCEL, *d.room.Clone(), "", d.inviteSeq, d.roomDest)
	if via := inv.Via(); via != nil {
		req.PrependHeader(sip.HeaderClone(via))
	}
	req.SetBody(nil)
	return req
}

// confirm records what the 2xx to the INVITE tells about the dialog: the
// focus's tag and its Contact, where in-dialog requests go.
func (d *dialog) confirm(res *sip.Response) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if to := res.To(); to != nil {
		d.remoteTag, _ = to.Params.Get("tag")
	}
	d.target, d.dest = *d.room.Clone(), d.roomDest
	if c := res.Contact(); c != nil && c.Address.Host != "" {
		d.target = *c.Address.Clone()
		d.dest = d.targetDest(c.Address)
	}
}

// targetDest is where requests to the remote target u go: its host and
// port; over WSS, always where the INVITE went, our one WebSocket (RFC
// 7118 §5: a WebSocket client sends everything over the connection it
// opened, and the focus's Contact names its HTTPS port, which is that
// connection's anyway).
func (d *dialog) targetDest(u sip.Uri) string {
	if d.transport == "WSS" {
		return d.roomDest
	}
	return hostPort(u, d.transport)
}

// ack builds the ACK for the 2xx (RFC 3261 §13.2.2.4): a new transaction
// with the INVITE's CSeq number, sent to the remote target.
func (d *dialog) ack() *sip.Request {
	d.mu.Lock()
	target, tag, dest := d.target, d.remoteTag, d.dest
	d.mu.Unlock()
	req := d.base(sip.ACK, target, tag, d.inviteSeq, dest)
	req.SetBody(nil)
	return req
}

// bye builds a BYE with the next CSeq.
func (d *dialog) bye() *sip.Request {
	d.mu.Lock()
	d.cseq++
	target, tag, dest, seq := d.target, d.remoteTag, d.dest, d.cseq
	d.mu.Unlock()
	req := d.base(sip.BYE, target, tag, seq, dest)
	req.SetBody(nil)
	return req
}

// matches reports whether req belongs to the dialog: our Call-ID, the
// focus's tag in From and ours in To (RFC 3261 §12.2.2).
func (d *dialog) matches(req *sip.Request) bool {
	cid, from, to := req.CallID(), req.From(), req.To()
	if cid == nil || from == nil || to == nil || cid.Value() != d.callID {
		return false
	}
	ft, _ := from.Params.Get("tag")
	tt, _ := to.Params.Get("tag")
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remoteTag != "" && ft == d.remoteTag && tt == d.localTag
}

// hostPort is the host:port a SIP URI designates when reached over
// transport ("UDP", "TCP" or "TLS"): its port, by default 5061 for a sips:
// URI or over TLS and 5060 otherwise (RFC 3261 §19.1.2; SRV and NAPTR
// lookups are not done).
func hostPort(u sip.Uri, transport string) string {
	port := u.Port
	if port == 0 {
		if u.Scheme == "sips" {
			transport = "TLS"
		}
		port = sip.DefaultPort(transport)
	}
	return net.JoinHostPort(strings.Trim(u.Host, "[]"), strconv.Itoa(port))
}

func randUint32() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}
