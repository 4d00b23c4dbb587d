package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

// participant is one member of a room, joined by the lean path (dlg, nc)
// or by client.Join (sess).
type participant struct {
	room    int // room index
	idx     int // index in its room
	roomURI string
	from    string // our AOR: SIP From and CPIM From

	// lean path
	local  msrp.URI // our MSRP URI (a=path, From-Path)
	toPath string   // the focus's path: To-Path
	dlg    *leanDialog
	nc     net.Conn
	fr     *frameReader

	// client path
	sess *client.Session
}

// joiner joins and leaves participants.
type joiner struct {
	path      string // "lean" or "client"
	ua        *sipUA // lean path
	server    string
	transport string
	timeout   time.Duration
	sources   int // 127.0.0.x source addresses to spread MSRP connections over
	nextSrc   atomic.Uint64
	readSize  int // frameReader buffer of lean participants
}

// join makes p a member of its room.
func (j *joiner) join(ctx context.Context, p *participant) error {
	if j.path == "client" {
		s, err := client.Join(ctx, p.roomURI, client.Options{From: p.from, NoRoster: true, Transport: j.transport,
			Timeout: j.timeout, MessageBuffer: clientMessageBuffer, LocalAddr: j.srcIP().String() + ":0"})
		if err != nil {
			return err
		}
		p.sess = s
		return nil
	}
	p.local = msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: msrp.NewSessionID(), Transport: "tcp"}
	d, res, err := j.ua.invite(ctx, p.roomURI, p.from, buildOffer(p.local))
	if err != nil {
		return err
	}
	p.dlg = d
	path, err := answerPath(res)
	if err != nil {
		j.leave(ctx, p)
		return err
	}
	p.toPath = msrp.FormatPath(path)
	dl := net.Dialer{Timeout: j.timeout}
	if j.sources > 1 {
		dl.LocalAddr = &net.TCPAddr{IP: j.srcIP()}
	}
	nc, err := dl.DialContext(ctx, "tcp", net.JoinHostPort(path[0].Host, strconv.Itoa(path[0].Port)))
	if err != nil {
		j.leave(ctx, p)
		return fmt.Errorf("MSRP connect: %w", err)
	}
	p.nc = nc
	p.fr = newFrameReader(nc, j.readSize)
	if err := p.bind(j.timeout); err != nil {
		j.leave(ctx, p)
		return err
	}
	return nil
}

// clientMessageBuffer is the Messages buffer of client-path participants:
// they do not read it, and client's default (1024 messages) costs ~150 KiB each.
const clientMessageBuffer = 16

// srcIP is the next source address: 127.0.0.1 alone, or round robin over
// j.sources addresses of 127.0.0.0/8.
func (j *joiner) srcIP() net.IP {
	if j.sources <= 1 {
		return net.IPv4(127, 0, 0, 1)
	}
	k := int(j.nextSrc.Add(1)-1) % j.sources
	return net.IPv4(127, 0, byte(k/250), byte(1+k%250))
}

// bind sends the bodiless SEND that binds our session (RFC 4975 §5.4) and
// reads until its response; the room's notices that come first are skipped.
func (p *participant) bind(timeout time.Duration) error {
	tid := msrp.NewTID()
	req := &msrp.Message{TID: tid, Method: msrp.MethodSEND, Header: msrp.Header{
		{Name: msrp.HeaderToPath, Value: p.toPath},
		{Name: msrp.HeaderFromPath, Value: p.local.String()},
		{Name: msrp.HeaderMessageID, Value: msrp.NewMessageID()},
		{Name: msrp.HeaderByteRange, Value: "1-0/0"},
	}}
	_ = p.nc.SetDeadline(time.Now().Add(timeout))
	defer p.nc.SetDeadline(time.Time{})
	if _, err := p.nc.Write(req.Bytes()); err != nil {
		return fmt.Errorf("MSRP bind: %w", err)
	}
	for {
		f, err := p.fr.next()
		if err != nil {
			return fmt.Errorf("MSRP bind: %w", err)
		}
		if f.request || !bytes.Equal(f.tid, []byte(tid)) {
			continue
		}
		if f.code != msrp.StatusOK {
			return fmt.Errorf("MSRP bind: %d", f.code)
		}
		return nil
	}
}

// leave ends p's membership: BYE and close (lean), or Session.Leave.
func (j *joiner) leave(ctx context.Context, p *participant) error {
	if p.sess != nil {
		err := p.sess.Leave(ctx)
		if errors.Is(err, client.ErrSessionEnded) {
			err = nil
		}
		return err
	}
	var err error
	if p.dlg != nil {
		err = j.ua.bye(ctx, p.dlg)
	}
	if p.nc != nil {
		p.nc.Close()
	}
	return err
}

// buildOffer is our SDP offer: one MSRP stream at local, message/cpim
// wrapping text/plain or anything, a=setup:active, a=chatroom with both
// capabilities (as client/ offers).
func buildOffer(local msrp.URI) []byte {
	id := strconv.FormatInt(time.Now().UnixNano()&0x7fffffff, 10)
	conn := sdp.NewConnection(local.Host)
	s := &sdp.Session{
		Origin: sdp.Origin{Username: "-", SessionID: id, SessionVersion: id,
			NetType: conn.NetType, AddrType: conn.AddrType, Address: local.Host},
		Name:       "-",
		Connection: conn,
		Lines:      []sdp.Line{{Type: 't', Value: "0 0"}},
	}
	m := sdp.NewMSRPMedia([]msrp.URI{local})
	m.SetAcceptTypes(sdp.FormatList{{Type: "message", Subtype: "cpim"}})
	m.SetAcceptWrappedTypes(sdp.FormatList{{Type: "text", Subtype: "plain"}, {Type: "*"}})
	m.SetSetup(sdp.SetupActive)
	m.SetChatroom(sdp.Chatroom{Nickname: true, PrivateMessages: true})
	s.Media = []*sdp.Media{m}
	return s.Marshal()
}

// answerPath returns the MSRP path of the focus's SDP answer.
func answerPath(res *sipMsg) ([]msrp.URI, error) {
	if ct := res.get("content-type"); !strings.HasPrefix(strings.ToLower(ct), "application/sdp") {
		return nil, fmt.Errorf("answer: Content-Type %q", ct)
	}
	s, err := sdp.Parse(res.body)
	if err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	for _, m := range s.Media {
		if m.IsMSRP() && m.Port != 0 {
			path, err := m.Path()
			if err != nil {
				return nil, fmt.Errorf("answer: %w", err)
			}
			return path, nil
		}
	}
	return nil, errors.New("answer: no accepted MSRP stream")
}
