package conference

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-im/parley/confinfo"
)

// Documents are encoded by confinfo in two parts, so that one encoding
// serves many subscribers:
//
//   - a head per subscription: the XML declaration and the root start tag
//     up to its entity attribute (the subscriber's conference URI);
//   - a tail per roster state: the rest of the document from the closing
//     '>' of the root start tag, encoded once with no entity and version 0.
//
// A NOTIFY body is head + ` state="…" version="N"` + tail, the attributes
// in the order confinfo writes them (entity, state, version).

// mediaID is the id of the one <media> of every endpoint: its MSRP stream.
const mediaID = "1"

// versionZero is what closes the root's attributes in a tail template.
var versionZero = []byte(` version="0"`)

// rootHead returns the head of the documents for a subscriber of entity.
func rootHead(entity string) ([]byte, error) {
	c := confinfo.NewFull(entity, 0)
	c.State = ""
	b, err := c.Marshal()
	if err != nil {
		return nil, fmt.Errorf("conference: head for %q: %w", entity, err)
	}
	i := bytes.Index(b, versionZero) // the entity, escaped, holds no '"'
	if i < 0 {
		return nil, fmt.Errorf("conference: head for %q: no version in %q", entity, b)
	}
	return bytes.Clone(b[:i]), nil
}

// tail encodes c (with no entity and version 0) and returns what follows
// its version attribute.
func tail(c *confinfo.ConferenceInfo) ([]byte, error) {
	b, err := c.Marshal()
	if err != nil {
		return nil, fmt.Errorf("conference: encoding a %s document: %w", c.State, err)
	}
	i := bytes.Index(b, versionZero)
	if i < 0 {
		return nil, fmt.Errorf("conference: no version in %q", b)
	}
	return b[i+len(versionZero):], nil
}

// compose returns head + state + version + tail: one NOTIFY body.
func compose(head []byte, state confinfo.State, version uint32, tail []byte) []byte {
	b := make([]byte, 0, len(head)+len(` state="partial" version="4294967295"`)+len(tail))
	b = append(b, head...)
	b = append(b, ` state="`...)
	b = append(b, state...)
	b = append(b, `" version="`...)
	b = strconv.AppendUint(b, uint64(version), 10)
	b = append(b, '"')
	return append(b, tail...)
}

// conferenceState returns the <conference-state> of a room with n users.
func conferenceState(n int, active bool) *confinfo.ConferenceState {
	count := uint32(n)
	locked := false
	return &confinfo.ConferenceState{UserCount: &count, Active: &active, Locked: &locked}
}

// fullTail returns the tail of r's full document, encoded at most once per
// roster state.
func (r *roster) fullTail() ([]byte, error) {
	if r.fullBody != nil && r.fullSeq == r.seq {
		return r.fullBody, nil
	}
	c := confinfo.NewChatRoom("", r.display, 0)
	c.Description.Subject = r.subject
	if len(r.uris) > 0 {
		c.Description.ConfURIs = &confinfo.URIs{}
		for _, u := range r.uris {
			c.Description.ConfURIs.Entries = append(c.Description.ConfURIs.Entries, confinfo.URIEntry{URI: u, Purpose: "participation"})
		}
	}
	c.Users.Users = make([]confinfo.User, 0, r.nusers)
	for u := r.first; u != nil; u = u.next {
		c.AddUser(u.element())
	}
	c.ConferenceState = conferenceState(r.nusers, true)
	b, err := tail(c)
	if err != nil {
		return nil, err
	}
	r.fullBody, r.fullSeq = b, r.seq
	return b, nil
}

// deletedTail returns the tail of the document a deleted room's
// subscribers get last: no users, not active.
func (r *roster) deletedTail() ([]byte, error) {
	if r.deletedBody == nil {
		c := confinfo.NewChatRoom("", r.display, 0)
		c.ConferenceState = conferenceState(0, false)
		b, err := tail(c)
		if err != nil {
			return nil, err
		}
		r.deletedBody = b
	}
	return r.deletedBody, nil
}

// partialTail returns the tail of the partial document telling a
// subscriber at cursor what changed since: every user entity in the log
// past cursor, as it is now (or deleted). It is encoded once per cursor
// and roster state, and shared by the subscribers at that cursor.
func (r *roster) partialTail(cursor uint64) ([]byte, error) {
	if r.partialSeq != r.seq {
		clear(r.partials)
		r.partialSeq = r.seq
	}
	if b, ok := r.partials[cursor]; ok {
		return b, nil
	}
	c := confinfo.NewPartial("", 0)
	c.ConferenceState = conferenceState(r.nusers, true)
	changed := r.log[cursor-r.logBase:]
	var seen map[string]bool
	if len(changed) > 8 {
		seen = make(map[string]bool, len(changed))
	}
	for i, entity := range changed {
		if seen != nil {
			if seen[entity] {
				continue
			}
			seen[entity] = true
		} else if dupBefore(changed[:i], entity) {
			continue
		}
		switch u := r.users[entity]; {
		case u != nil:
			c.AddUser(u.element())
		case r.gone[entity] != nil:
			c.AddUser(r.gone[entity].deleted())
		default:
			c.AddUser(confinfo.DeletedUser(entity))
		}
	}
	b, err := tail(c)
	if err != nil {
		return nil, err
	}
	if r.partials == nil {
		r.partials = make(map[uint64][]byte)
	}
	r.partials[cursor] = b
	return b, nil
}

func dupBefore(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// element returns u as a full <user>.
func (u *user) element() confinfo.User {
	eps := make([]confinfo.Endpoint, len(u.endpoints))
	for i, e := range u.endpoints {
		eps[i] = confinfo.ChatEndpoint(e.entity, mediaID)
		if !e.connected {
			eps[i].Status = confinfo.StatusPending
		}
	}
	cu := confinfo.ChatUser(u.entity, u.nickname, u.display, eps...)
	if u.guest {
		// RFC 4575 §5.6.5: <roles> holds the user's roles in the
		// conference; a guest (issue 17) did not authenticate, and every
		// client can tell.
		cu.Roles = []string{GuestRole}
	}
	return cu
}

// deleted returns u, who left, as a deleted <user> that still says who
// it was: its display-text, xcon:nickname and roles as they were last.
// RFC 4575 §4.6 has the subscriber remove a deleted element whatever it
// holds; a subscriber that never had the user (it came and went within
// one rate-limit window) can still tell the visit.
func (u *user) deleted() confinfo.User {
	d := confinfo.DeletedUser(u.entity)
	d.DisplayText, d.Nickname = u.display, u.nickname
	if u.guest {
		d.Roles = []string{GuestRole}
	}
	return d
}

// GuestRole is the <roles> entry of a participant who did not
// authenticate (issue 17).
const GuestRole = "guest"

// clean returns s with what XML 1.0 cannot carry (invalid UTF-8, most
// control characters, U+FFFE, U+FFFF) replaced by U+FFFD, so that
// Marshal never fails on a string a participant chose.
func clean(s string) string {
	ok := true
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !xmlChar(r) {
			ok = false
			break
		}
		i += size
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s { // invalid UTF-8 comes as utf8.RuneError
		if !xmlChar(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// xmlChar reports whether r matches the XML 1.0 Char production.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
