package client

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

// cpimType is the one type a chat room accepts at the top level (RFC 7701 §5.2).
const cpimType = "message/cpim"

// activePort is the m-line and path port of an endpoint that only
// connects (a=setup:active): the discard port (RFC 6135 §4.2.2).
const activePort = 9

// wsPathPort is the port of our msrps: ;ws path over a WebSocket, whose
// host is a .invalid name nobody connects to (RFC 7977 §5.2.1, whose
// examples give 2855, MSRP's registered port).
const wsPathPort = 2855

// buildOffer returns our SDP offer: one MSRP stream whose path is local,
// accept-types message/cpim, the given wrapped types and chat-room
// capabilities, and a=setup:active (we connect; SPEC §4). addr is the
// address of the o= and c= lines: local's host, except for a WebSocket
// path, whose host is a .invalid name (RFC 7977 §5.2.1).
func buildOffer(local msrp.URI, addr string, c *settings) []byte {
	id := strconv.FormatUint(uint64(randUint32()), 10)
	conn := sdp.NewConnection(addr)
	s := &sdp.Session{
		Origin: sdp.Origin{Username: "-", SessionID: id, SessionVersion: id,
			NetType: conn.NetType, AddrType: conn.AddrType, Address: addr},
		Name:       "-",
		Connection: conn,
		Lines:      []sdp.Line{{Type: 't', Value: "0 0"}},
	}
	m := sdp.NewMSRPMedia([]msrp.URI{local})
	m.SetAcceptTypes(sdp.FormatList{{Type: "message", Subtype: "cpim"}})
	m.SetAcceptWrappedTypes(c.wrapped)
	m.SetSetup(sdp.SetupActive)
	m.SetChatroom(c.chatroom)
	s.Media = []*sdp.Media{m}
	return s.Marshal()
}

// answer is what we use of the focus's SDP answer.
type answer struct {
	path       []msrp.URI // leftmost: where we connect; all of it: our To-Path
	chatroom   sdp.Chatroom
	chatroomOK bool // the answer has a=chatroom
}

// parseAnswer checks the body of the focus's 2xx: application/sdp with an
// accepted (port ≠ 0) MSRP stream of the kind we offered (TCP/TLS/MSRP
// with an msrps: path when secure, else TCP/MSRP with an msrp: path)
// carrying a path whose first URI we can connect to (transport tcp, or ws
// when ws: a WebSocket, RFC 7977 §5.2.2), accept-types that allow
// message/cpim, and an a=setup that lets us connect (passive or absent).
// Every error wraps ErrBadAnswer.
func parseAnswer(res *sip.Response, secure, ws bool) (answer, error) {
	var a answer
	if ct := res.ContentType(); ct == nil || !strings.EqualFold(strings.TrimSpace(strings.SplitN(ct.Value(), ";", 2)[0]), "application/sdp") {
		return a, fmt.Errorf("%w: the 2xx carries no application/sdp body", ErrBadAnswer)
	}
	s, err := sdp.Parse(res.Body())
	if err != nil {
		return a, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	var m *sdp.Media
	for _, cand := range s.Media {
		if cand.IsMSRP() && cand.Port != 0 {
			m = cand
			break
		}
	}
	switch {
	case m == nil:
		return a, fmt.Errorf("%w: no accepted MSRP stream", ErrBadAnswer)
	case m.IsSecureMSRP() && !secure:
		return a, fmt.Errorf("%w: TCP/TLS/MSRP answered to a TCP/MSRP offer", ErrBadAnswer)
	case !m.IsSecureMSRP() && secure:
		return a, fmt.Errorf("%w: %s answered to a TCP/TLS/MSRP offer (MSRP must not fall back from TLS)", ErrBadAnswer, m.Proto)
	}
	if a.path, err = m.Path(); err != nil {
		return a, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	transport := "tcp"
	if ws {
		transport = "ws"
	}
	if first := a.path[0]; first.Secure != secure || !strings.EqualFold(first.Transport, transport) {
		return a, fmt.Errorf("%w: cannot connect to %s", ErrBadAnswer, first.String())
	}
	at, err := m.AcceptTypes()
	if err != nil {
		return a, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	if !at.Accepts(cpimType) {
		return a, fmt.Errorf("%w: accept-types %q lacks %s", ErrBadAnswer, at.String(), cpimType)
	}
	if setup := m.Setup().Effective(); setup != sdp.SetupPassive && setup != sdp.SetupNone {
		return a, fmt.Errorf("%w: a=setup:%s, but we offered active", ErrBadAnswer, setup)
	}
	a.chatroom, a.chatroomOK = m.Chatroom()
	return a, nil
}
