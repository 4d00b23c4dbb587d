package focus

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/sdp"
)

// offerInfo is what the focus takes from a participant's SDP offer.
type offerInfo struct {
	index    int // the accepted MSRP m-line
	path     []msrp.URI
	caps     room.Caps
	wrapped  sdp.FormatList // the participant's accept-wrapped-types (nil: none)
	hasWrapd bool
	accept   sdp.FormatList // its accept-types
	maxSize  int64          // its a=max-size; 0: none
}

var (
	errNoChatStream = errors.New("no MSRP stream that accepts message/cpim")
	errNoTLS        = errors.New("MSRP over TLS (TCP/TLS/MSRP, msrps) is not enabled on this server")
	errNoWS         = errors.New("MSRP over WebSocket (a ;ws path, RFC 7977) is not enabled on this server")
	errWSRelayed    = errors.New("a WebSocket client's path (;ws) must be its only URI: connect to this server's HTTPS port directly, not through MSRP relays")
	errTLSRequired  = errors.New("this room requires TLS: the MSRP stream must be TCP/TLS/MSRP with an msrps path")
	errSchemeProto  = errors.New("the a=path scheme does not match the m-line: msrps goes with TCP/TLS/MSRP, msrp with TCP/MSRP (RFC 4975 §8.1)")
	errPassive      = errors.New("a=setup:passive is not supported: the participant must connect to the switch (RFC 6135)")
)

// msrpTransports says which MSRP transports the switch serves besides
// plain TCP.
type msrpTransports struct {
	tls bool // an msrps listener: TCP/TLS/MSRP offers with an msrps path (RFC 4975 §14.3)
	ws  bool // the HTTPS listener: WebSocket clients, whose path is ;ws (RFC 7977)
}

// pickMSRP chooses the first usable MSRP m-line of the offer: TCP/MSRP or
// TCP/TLS/MSRP, valid path and accept-types, accept-types allowing
// message/cpim (RFC 7701 §5.2), and a setup that lets the participant
// connect (active, actpass or none). The path's scheme must match the
// m-line (msrps with TCP/TLS/MSRP). A TCP/TLS/MSRP stream over TCP is
// usable when the server has an msrps listener (avail.tls): the relay then
// gives it an msrps session on it. A stream whose endpoint URI is ;ws is
// a WebSocket client's (RFC 7977 §5.2.1: its host usually .invalid, which
// nobody ever connects to; TCP/MSRP or TCP/TLS/MSRP, §5.3), usable when
// the HTTPS listener is on (avail.ws) and it connects directly (a path
// of one URI): the relay gives it an msrps ;ws session there, bound over
// wss. A room that requires TLS (requireTLS,
// RFC 7701 §4.1) takes no TCP/MSRP stream.
func pickMSRP(offer *sdp.Session, avail msrpTransports, requireTLS bool) (offerInfo, error) {
	var firstErr error
	for i, m := range offer.Media {
		if !m.IsMSRP() || m.Port == 0 {
			continue
		}
		if err := sdp.ValidateMSRP(m); err != nil {
			firstErr = cmpErr(firstErr, err)
			continue
		}
		secure := m.IsSecureMSRP()
		p, _ := m.Path()
		end := p[len(p)-1]
		if end.Secure != secure {
			firstErr = cmpErr(firstErr, errSchemeProto)
			continue
		}
		ws := strings.EqualFold(end.Transport, "ws")
		switch {
		case ws && !avail.ws:
			firstErr = cmpErr(firstErr, errNoWS)
			continue
		case ws && len(p) > 1:
			// The relay that would connect to us speaks TCP or TLS, not
			// WebSocket, and the switch binds a ;ws session over
			// WebSocket only.
			firstErr = cmpErr(firstErr, errWSRelayed)
			continue
		case secure && !ws && !avail.tls:
			firstErr = cmpErr(firstErr, errNoTLS)
			continue
		case !secure && requireTLS:
			firstErr = cmpErr(firstErr, errTLSRequired)
			continue
		}
		if m.Setup().Effective() == sdp.SetupPassive {
			// Both sides passive would leave nobody to connect; RFC 6135
			// §4.2.2 forbids offering passive anyway.
			firstErr = cmpErr(firstErr, errPassive)
			continue
		}
		at, _ := m.AcceptTypes()
		if !at.Accepts("message/cpim") {
			firstErr = cmpErr(firstErr, errNoChatStream)
			continue
		}
		path, _ := m.Path()
		info := offerInfo{index: i, path: path}
		if cr, ok := m.Chatroom(); ok {
			info.caps = room.Caps{ChatroomAware: true, Nicknames: cr.Nickname, PrivateMessages: cr.PrivateMessages}
		}
		info.wrapped, info.hasWrapd, _ = m.AcceptWrappedTypes()
		info.accept = at
		if n, ok, err := m.MaxSize(); ok && err == nil && n > 0 {
			info.maxSize = n
		}
		return info, nil
	}
	if firstErr == nil {
		firstErr = errNoChatStream
	}
	return offerInfo{}, firstErr
}

func cmpErr(old, err error) error {
	if old != nil {
		return old
	}
	return err
}

// buildAnswer answers offer: the chosen MSRP m-line gets our path, accept-
// types message/cpim only (RFC 7701 §5.2), the room's accept-wrapped-types,
// a=setup:passive (RFC 6135: the participant connects to the switch) and
// a=chatroom with the room's capabilities; every other m-line is rejected
// with port 0 (RFC 3264 §6).
func (f *Focus) buildAnswer(offer *sdp.Session, info offerInfo, local msrp.URI, pol room.Policy, sessID, version uint64) []byte {
	origin := sdp.Origin{
		Username: "parley", SessionID: strconv.FormatUint(sessID, 10), SessionVersion: strconv.FormatUint(version, 10),
		NetType: "IN", AddrType: addrType(f.cfg.Host), Address: f.cfg.Host,
	}
	conn := &sdp.Connection{NetType: "IN", AddrType: addrType(f.cfg.Host), Address: f.cfg.Host}
	ans := sdp.NewAnswer(offer, origin, conn, func(i int, _ *sdp.Media) *sdp.Media {
		if i != info.index {
			return nil
		}
		m := sdp.NewMSRPMedia([]msrp.URI{local})
		m.SetAcceptTypes(sdp.FormatList{{Type: "message", Subtype: "cpim"}})
		if len(pol.AcceptWrappedTypes) > 0 {
			var wl sdp.FormatList
			for _, t := range pol.AcceptWrappedTypes {
				if l, err := sdp.ParseFormatList(t); err == nil {
					wl = append(wl, l...)
				}
			}
			if len(wl) > 0 {
				m.SetAcceptWrappedTypes(wl)
			}
		}
		m.SetSetup(sdp.SetupPassive)
		m.SetChatroom(sdp.Chatroom{Nickname: pol.Nicknames, PrivateMessages: pol.PrivateMessages})
		return m
	})
	return ans.Marshal()
}

func addrType(host string) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		return "IP6"
	}
	return "IP4"
}

// detach makes what the focus keeps of an offer for as long as the
// participant stays (its path, its accept lists) independent of the SDP
// text: every string of a parsed sdp.Session is a substring of one copy of
// the body, which would otherwise stay in memory with them (issue 20). m
// is the accepted m-line.
func (info *offerInfo) detach(m *sdp.Media, lists *formatLists) {
	if v, ok := m.Attr(sdp.AttrPath); ok {
		if p, err := msrp.ParsePath(strings.Clone(v)); err == nil {
			info.path = p
		}
	}
	if v, ok := m.Attr(sdp.AttrAcceptTypes); ok && info.accept != nil {
		info.accept = lists.get(v)
	}
	if v, ok := m.Attr(sdp.AttrAcceptWrappedTypes); ok && info.wrapped != nil {
		info.wrapped = lists.get(v)
	}
}

// formatLists interns the accept-types and accept-wrapped-types lists of
// offers: the participants of a service offer a handful of different
// ones, kept once each instead of once per participant. Up to
// maxFormatLists are kept; past them a list is parsed from a copy of its
// own. Read-only once handed out.
type formatLists struct {
	mu sync.Mutex // a leaf
	m  map[string]sdp.FormatList
}

const maxFormatLists = 256

// get returns the list the attribute value v (already parsed once without
// error) stands for.
func (l *formatLists) get(v string) sdp.FormatList {
	l.mu.Lock()
	defer l.mu.Unlock()
	if fl, ok := l.m[v]; ok {
		return fl
	}
	key := strings.Clone(v)
	fl, _ := sdp.ParseFormatList(key)
	if len(l.m) < maxFormatLists {
		if l.m == nil {
			l.m = make(map[string]sdp.FormatList)
		}
		l.m[key] = fl
	}
	return fl
}
