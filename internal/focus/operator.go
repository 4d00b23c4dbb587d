package focus

import (
	"fmt"
	"strings"

	"github.com/parley-im/parley/internal/room"
)

// What an operator does to rooms at run time (issue 18's admin API): delete
// a room, remove a participant, and apply a room's new policy to those
// already in it.

// DeleteRoom deletes the live room called name whatever its deletion
// policy, as RFC 7701 §5.3 lets the focus do: the room is gone at once (a
// new INVITE to it makes a new one where the policy allows), every
// participant gets a BYE with a Reason (cause 410, "Room deleted", and the
// operator's reason), and the roster observer ends every subscription
// (terminated;reason=noresource, RFC 4575 §4.2). It returns how many
// participants were removed, and false when no such room lives.
func (f *Focus) DeleteRoom(name, reason string) (int, bool) {
	rm, evict, ok := f.cfg.Rooms.Delete(name)
	if !ok {
		return 0, false
	}
	f.stats.roomsDeleted.Add(1)
	if c, ok := rm.Owner().(*charge); ok {
		f.ledger.release(c)
	}
	f.log.Info("room deleted by an operator", "room", name, "participants", len(evict), "reason", reason)
	if ro, ok := f.cfg.Roster.(RoomObserver); ok {
		ro.RoomDeleted(rm)
	}
	why := byeReason(410, "Room deleted", reason)
	for _, p := range evict {
		if d, ok := p.Value.(*dialog); ok {
			f.endByFocus(d, why)
		}
	}
	return len(evict), true
}

// Kick removes the participant of the room called name whose URI is uri
// (the URI the room knows it by, or for an anonymous participant also the
// URI it signalled): BYE with a Reason (cause 403, "Removed from the room",
// and the operator's reason), then it leaves the room as after any BYE.
// It reports whether such a participant was there.
func (f *Focus) Kick(name, uri, reason string) bool {
	rm, ok := f.cfg.Rooms.Get(name)
	if !ok {
		return false
	}
	for _, p := range f.cfg.Rooms.Members(rm) {
		if p.URI != uri && p.Signalled != uri {
			continue
		}
		d, ok := p.Value.(*dialog)
		if !ok {
			continue
		}
		f.stats.kicked.Add(1)
		f.log.Info("participant removed by an operator", "room", name, "participant", p.URI, "reason", reason)
		f.endByFocus(d, byeReason(403, "Removed from the room", reason))
		return true
	}
	return false
}

// Enforce applies rm's policy (just replaced: room.Room.SetPolicy) to the
// participants already in it: those it no longer admits get a BYE saying
// why, the others stay. Today that is guests when the room now denies them
// (guests = "deny") and, with guest_uris = "foreign", guests whose URI is in
// the server's domain; a lower max_participants removes nobody (it applies
// to the next join). It returns how many were removed.
func (f *Focus) Enforce(rm *room.Room) int {
	pol := rm.Policy()
	if !pol.DenyGuests && !pol.GuestsForeignOnly {
		return 0
	}
	n := 0
	for _, p := range f.cfg.Rooms.Members(rm) {
		if !p.Guest {
			continue
		}
		why := ""
		switch {
		case pol.DenyGuests:
			why = "Guests are no longer admitted"
		case pol.GuestsForeignOnly && f.localGuest(p):
			why = "Guests must use a URI outside this domain"
		default:
			continue
		}
		if d, ok := p.Value.(*dialog); ok {
			f.log.Info("participant removed by a policy change", "room", rm.Name, "participant", p.URI, "reason", why)
			f.endByFocus(d, byeReason(403, why, ""))
			n++
		}
	}
	return n
}

// localGuest reports whether a guest signalled a URI in the server's
// domain (what guest_uris = "foreign" refuses at the door).
func (f *Focus) localGuest(p *room.Participant) bool {
	host := f.cfg.Host
	if host == "" {
		return false
	}
	u := p.Signalled
	if u == "" {
		u = p.URI
	}
	at := strings.LastIndexByte(u, '@')
	if at < 0 {
		return false
	}
	h := u[at+1:]
	if i := strings.IndexAny(h, ":;>"); i >= 0 {
		h = h[:i]
	}
	return strings.EqualFold(h, host)
}

// byeReason is a Reason header value (RFC 3326 §2): the SIP cause, and a
// text of what and, when given, why; quotes, backslashes and control
// characters of the operator's reason are dropped so the quoted string
// stays well formed.
func byeReason(cause int, what, why string) string {
	text := what
	if why = cleanReason(why); why != "" {
		text += ": " + why
	}
	return fmt.Sprintf(`SIP ;cause=%d ;text="%s"`, cause, text)
}

// maxReasonBytes bounds an operator's reason in a Reason header.
const maxReasonBytes = 200

func cleanReason(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			continue
		}
		if b.Len()+len(string(r)) > maxReasonBytes {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// Transport names the transport of p's MSRP session: "tcp", "tls", "ws"
// or "wss" ("" when p has no session now).
func (f *Focus) Transport(p *room.Participant) string {
	d, ok := p.Value.(*dialog)
	if !ok {
		return ""
	}
	d.mu.Lock()
	sess := d.session
	d.mu.Unlock()
	if sess == nil {
		return ""
	}
	u := sess.LocalURI()
	switch {
	case u.Transport == "ws" && u.Secure:
		return "wss"
	case u.Transport == "ws":
		return "ws"
	case u.Secure:
		return "tls"
	}
	return "tcp"
}
