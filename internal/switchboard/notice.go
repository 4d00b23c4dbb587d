package switchboard

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/parley-im/parley/cpim"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
)

// System messages (issue 4 item 7): CPIM messages from the room's URI to the
// room's URI (SPEC §13 row 6), text/plain, sent only when the room's policy
// has SystemMessages. Each recipient gets the room URI as it addressed the
// room, so that its client recognises the sender.

const noticeType = "text/plain;charset=utf-8"

// noticeJoined tells the others that m joined.
func (s *Switch) noticeJoined(rs *roomState, m *member) {
	s.noticeRoom(rs, m, noticeName(m.p)+" joined the room")
}

// noticeLeft tells the others that m left.
func (s *Switch) noticeLeft(rs *roomState, m *member) {
	s.noticeRoom(rs, m, noticeName(m.p)+" left the room")
}

// noticeName is how notices name p: its URI, marked when p is a guest
// (issue 17: a guest is shown as a guest everywhere).
func noticeName(p *room.Participant) string {
	if p.Guest {
		return p.URI + " (guest)"
	}
	return p.URI
}

// maxRosterNames bounds the names a roster notice lists.
const maxRosterNames = 100

// noticeRoster tells m, a conference-unaware participant (no a=chatroom: it
// will not subscribe to the conference event package), who is in the room,
// as a text message (SPEC §14 item 13).
func (s *Switch) noticeRoster(rs *roomState, m *member) {
	rl := m.link.Load()
	if rl == nil || !rs.rm.Policy().SystemMessages {
		return
	}
	var b strings.Builder
	parts := rs.members().parts
	others := 0
	for _, p := range parts {
		if p == m.p {
			continue
		}
		if others == maxRosterNames {
			fmt.Fprintf(&b, ", and %d more", len(parts)-1-others)
			break
		}
		if others > 0 {
			b.WriteString(", ")
		}
		others++
		if nick := s.nicks.NicknameOf(p); nick != "" {
			fmt.Fprintf(&b, "%s (%s)", nick, p.URI)
		} else {
			b.WriteString(p.URI)
		}
	}
	text := "You joined " + rs.rm.Name + ". Nobody else is here."
	if others > 0 {
		text = "You joined " + rs.rm.Name + ". Also here: " + b.String() + "."
	}
	if s.sendNotice(rl, s.noticeBody(m.p.RoomURI, text), true) == nil {
		s.stats.notices.Add(1)
	}
}

// noticeCongested tells m, once per congestion episode, that regular
// messages to it are being dropped (RFC 7701 §6.4). It is queued past the
// congestion mark (it is small; the hard cap still applies).
func (s *Switch) noticeCongested(m *member) {
	rl := m.link.Load()
	if rl == nil {
		return
	}
	s.log.Info("participant congested: dropping regular messages to it", "room", m.rs.rm.Name, "session", rl.sess.ID())
	if !m.rs.rm.Policy().SystemMessages {
		return
	}
	body := s.noticeBody(m.p.RoomURI, "Your connection is not keeping up: messages to you are being discarded (RFC 7701 §6.4).")
	if s.sendNotice(rl, body, false) == nil {
		s.stats.notices.Add(1)
	}
}

// noticeRoom sends text to every member of rs but skip.
func (s *Switch) noticeRoom(rs *roomState, skip *member, text string) {
	if !rs.rm.Policy().SystemMessages {
		return
	}
	bodies := map[string][]byte{} // by room URI as the recipient knows it
	var w wholeCopies
	for _, m := range rs.members().mem {
		if m == skip {
			continue
		}
		rl := m.link.Load()
		if rl == nil {
			continue
		}
		body, ok := bodies[m.p.RoomURI]
		if !ok {
			body = s.noticeBody(m.p.RoomURI, text)
			bodies[m.p.RoomURI] = body
		}
		err := s.sendWhole(rl, body, true, &w)
		if err == nil {
			s.stats.notices.Add(1)
		}
	}
}

// noticeBody builds the CPIM body of a notice.
func (s *Switch) noticeBody(roomURI, text string) []byte {
	room := cpim.Address{URI: roomURI}
	cm := cpim.New(room, []cpim.Address{room}, noticeType, []byte(text))
	cm.SetDateTime(s.cfg.Now())
	return cm.Bytes()
}

// sendNotice queues one notice to rl: droppable like a regular message,
// or not (the congestion notice).
func (s *Switch) sendNotice(rl *link, body []byte, droppable bool) error {
	return s.sendWhole(rl, body, droppable, nil)
}

// wholeCopies is what the copies of one whole message the switch sends
// (sendWhole) share: its Message-ID, drawn for the first copy. Copies to
// different recipients may share one: it identifies a message within its
// session (RFC 4975 §7.1.1), as a regular message's copies share the
// sender's (issue 20: one drawn per copy of every join notice was 16
// octets of garbage per copy). A wholeCopies belongs to one goroutine.
//
// The first chunk of each copy is still rendered into a buffer of its own
// and queued by reference (Session.Offer), not into the recipient's
// arena (further chunks, for a WebSocket recipient, are copied): an arena
// is 16 KiB, and a burst of joins would give every member one for its
// notices, raising the heap's goal while the burst lasts and so the
// garbage each collection leaves to fragment the heap (measured: 1 kB
// more per idle participant afterwards).
type wholeCopies struct {
	mid string
}

// next makes w ready for another message: a new Message-ID.
func (w *wholeCopies) next() { w.mid = "" }

// sendWhole queues a whole message the switch itself sends (a notice, a
// replayed message) to rl from any goroutine, cut into chunks of at most
// rl's Session.MaxChunk (a WebSocket recipient), each its own unit; the
// first is droppable when droppable is, the others follow it. Copies of
// one message to several recipients share w; nil is a message sent once.
func (s *Switch) sendWhole(rl *link, body []byte, droppable bool, w *wholeCopies) error {
	var once wholeCopies
	if w == nil {
		w = &once
	}
	env := msrp.Envelope{
		ToPath: rl.toPath, FromPath: rl.fromPath,
		FailureReport: copyFailureReport, ContentType: cpimType,
	}
	total := int64(len(body))
	n := len(body)
	if mc := rl.sess.MaxChunk(); mc > 0 && n > mc {
		n = mc
	}
	for off := 0; ; off += n {
		n = min(n, len(body)-off)
		flag := byte(msrp.FlagContinue)
		if off+n == len(body) {
			flag = msrp.FlagEnd
		}
		s.idMu.Lock()
		if w.mid == "" {
			w.mid = s.ids.MessageID()
		}
		env.MessageID = w.mid
		_, f := env.AppendFrame(make([]byte, 0, env.FrameSize()), &s.ids, copyRange(int64(off)+1, n, total), flag)
		s.idMu.Unlock()
		var err error
		switch {
		case off == 0 && droppable:
			err = rl.sess.Offer(f.Head, body[off:off+n], f.End)
		case off == 0:
			err = rl.sess.Enqueue(f.Head, body[off:off+n], f.End)
		default:
			err = rl.sess.EnqueueFrame(f.Head, body[off:off+n], f.End)
		}
		if err != nil || flag == msrp.FlagEnd {
			return err
		}
	}
}

// rewriteFrom replaces the CPIM From header of body (an anonymous sender's
// own identity) with its anonymous URI, display name dropped: the only
// change the switch makes to a message (RFC 7701 §6.1 forbids changes; its
// §5.2 and §11 forbid revealing the AOR, which wins). It returns the new
// body and how many octets longer it is.
func rewriteFrom(body []byte, anon string) ([]byte, int) {
	for at := 0; at < len(body); {
		eol := bytes.IndexByte(body[at:], '\n')
		if eol < 0 {
			break
		}
		line := body[at : at+eol+1]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break // end of the CPIM message headers
		}
		if bytes.HasPrefix(line, []byte("From:")) {
			crlf := "\n"
			if bytes.HasSuffix(line, []byte("\r\n")) {
				crlf = "\r\n"
			}
			repl := "From: <" + anon + ">" + crlf
			out := make([]byte, 0, len(body)-len(line)+len(repl))
			out = append(out, body[:at]...)
			out = append(out, repl...)
			out = append(out, body[at+len(line):]...)
			return out, len(out) - len(body)
		}
		at += eol + 1
	}
	return body, 0
}
