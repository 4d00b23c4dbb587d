package room

import "github.com/parley-im/parley/cpim"

// RoutePolicy is what Route needs of the room's policy.
type RoutePolicy struct {
	// PrivateMessages: the room allows private messages (the switch
	// advertised "private-messages"); a private SEND is 403 otherwise
	// (SPEC §14 item 3).
	PrivateMessages bool
	// MultiplePrivate: several CPIM To name several private recipients
	// (draft-niemi-00 §4.2), at most 64. Off (RFC 7701 §6.2): several To
	// are 403.
	MultiplePrivate bool
	// CopyToSenderDevices: a regular message also goes to the sender's
	// other sessions (the same URI on other devices), so that they show the
	// whole conversation. Off by default (SPEC §14 item 7): RFC 7701 §6.1
	// requires copies to every session of each *recipient*, and does not
	// count the sender among the recipients of its own message; the sending
	// session itself is always skipped.
	CopyToSenderDevices bool
	// Accepts reports whether p's accept-wrapped-types admit mediaType;
	// sessions that do not are skipped silently (RFC 7701 §6.1). Nil admits
	// everything.
	Accepts func(p *Participant, mediaType string) bool
}

// Decision is Route's answer.
type Decision struct {
	Code       int            // 0: forward to Recipients and answer 200; else the MSRP status to answer: 403, 404 or 428
	Private    bool           // the message is private (RFC 7701 §6.2)
	Recipients []*Participant // the sessions to forward to, in members order; nil unless Code is 0
	Reason     string         // why, for logs; a constant
}

// maxTo is the most CPIM To a SEND may carry with MultiplePrivate.
const maxTo = 64

// Reasons of Route's decisions.
const (
	reasonFromNotSender = "CPIM From is not the sender's URI nor its nickname's"
	reasonToCount       = "CPIM To must appear exactly once"
	reasonToMixed       = "CPIM To names the room among several recipients"
	reasonNotMember     = "CPIM To is not a participant of the room"
	reasonNoPrivate     = "the room does not allow private messages"
	reasonNotCapable    = "the recipient does not support private messages"
	reasonRegular       = "regular message"
	reasonPrivate       = "private message"
)

// Route decides where the first chunk of a SEND goes once its CPIM header
// block and the inner Content-Type are known (SPEC §14A.2), checking in the
// order of SPEC §14 item 4: From (403), number of To (403), To resolves to a
// participant (404), room allows private messages (403), recipient supports
// them (428), then the recipients' accept-wrapped-types (silently skipped).
//
// members is a snapshot of the room (Registry.Members), sender the sending
// session, from and to the URIs of the CPIM From and To headers (display
// names and angle brackets removed), innerContentType the media type of the
// wrapped payload. URIs are compared with cpim.URIEqual (SPEC §14 items 8, 9).
// A regular message goes to every member but the sending session; a private
// one to every session of the recipient that supports private messages,
// except the sending session (SPEC §1.7 item 6).
//
// Nickname IM URIs (draft-niemi-00 §4.3, Nicknames.URIOf) are URIs of their
// holders: from may be the sender's nickname URI as well as its own URI
// (SPEC §14 item 8: an IM alias bound to the session), and a To equal to a
// member's nickname URI names that member, so that a private message to it
// goes to every session holding the nickname (all of one identity), with
// the same checks in the same order. A nickname released before the message
// is routed no longer names anyone (404).
//
// Route allocates nothing but the Recipients slice (and whatever pol.Accepts
// allocates): for a regular message once, with the capacity of members; for
// a private one by append (once for one recipient session, twice for two,
// about log2(n)+1 times for n), plus the URI key of each To. Refusals before
// the recipient lookup do not allocate, nor does RouteAppend with a large
// enough dst for a regular message.
// Its time is linear in len(members) (times len(to) for a private message).
// A participant admitted by Registry.Join carries the cpim.URIKey of its URI,
// so most URI comparisons are a string comparison; cpim.URIEqual runs only
// when keys match. A member's nickname URI costs one atomic load per member
// of a private message and a comparison with its key (made when the
// nickname was taken); nothing more is allocated for it, and Route takes no
// lock. BenchmarkRoute gives the figures for a room of 100.
func Route(members []*Participant, roomURI string, sender *Participant, from string, to []string, innerContentType string, pol RoutePolicy) Decision {
	return RouteAppend(nil, members, roomURI, sender, from, to, innerContentType, pol)
}

// RouteAppend is Route appending the recipients to dst[:0]. The caller owns
// dst again once it is done with the Decision; a recipient set kept for
// later chunks (RFC 7701 §6.1) must be copied.
func RouteAppend(dst, members []*Participant, roomURI string, sender *Participant, from string, to []string, innerContentType string, pol RoutePolicy) Decision {
	if sender == nil || from == "" || !isSender(from, sender) {
		return Decision{Code: statusForbidden, Reason: reasonFromNotSender}
	}
	if len(to) == 0 || len(to) > 1 && !pol.MultiplePrivate || len(to) > maxTo {
		return Decision{Code: statusForbidden, Reason: reasonToCount}
	}
	dst = dst[:0]
	if len(to) == 1 && cpim.URIEqual(to[0], roomURI) {
		if dst == nil {
			dst = make([]*Participant, 0, len(members))
		}
		for _, m := range members {
			if m.ID == sender.ID || !pol.CopyToSenderDevices && sameURI(m, sender) {
				continue
			}
			if pol.Accepts == nil || pol.Accepts(m, innerContentType) {
				dst = append(dst, m)
			}
		}
		return Decision{Recipients: dst, Reason: reasonRegular}
	}
	for _, t := range to {
		if len(to) > 1 && cpim.URIEqual(t, roomURI) {
			return Decision{Code: statusForbidden, Private: true, Reason: reasonToMixed}
		}
	}
	// One pass over the room: which To name a member (else 404), which name
	// a member that supports private messages (else 428, after the room's
	// own 403), and the capable sessions other than the sender's.
	var keyBuf [4]string
	keys := keyBuf[:0]
	for _, t := range to {
		keys = append(keys, cpim.URIKey(t))
	}
	var named, capable uint64 // bit i: to[i]
	for _, m := range members {
		var match uint64
		for i, t := range to {
			if m.uriKey != "" && m.uriKey != keys[i] {
				continue // URIEqual implies equal keys
			}
			if cpim.URIEqual(m.URI, t) {
				match |= 1 << i
			}
		}
		if alias := m.nick.load(); alias != nil {
			match |= aliasMatch(alias, to, keys)
		}
		named |= match
		if match != 0 && privateCapable(m) {
			capable |= match
			if m.ID != sender.ID && pol.PrivateMessages {
				dst = append(dst, m)
			}
		}
	}
	all := uint64(1)<<len(to) - 1
	switch {
	case named != all:
		return Decision{Code: statusRecipientNotFound, Private: true, Reason: reasonNotMember}
	case !pol.PrivateMessages:
		return Decision{Code: statusForbidden, Private: true, Reason: reasonNoPrivate}
	case capable != all:
		return Decision{Code: statusPrivateNotSupp, Private: true, Reason: reasonNotCapable}
	}
	if pol.Accepts != nil {
		kept := dst[:0]
		for _, m := range dst {
			if pol.Accepts(m, innerContentType) {
				kept = append(kept, m)
			}
		}
		clear(dst[len(kept):])
		dst = kept
	}
	return Decision{Private: true, Recipients: dst, Reason: reasonPrivate}
}

// aliasMatch returns the bits of the To (to[i], of URI key keys[i]) equal
// to a member's nickname URI.
func aliasMatch(alias *nickAlias, to, keys []string) (match uint64) {
	for i, t := range to {
		if alias.key == keys[i] && cpim.URIEqual(alias.uri, t) {
			match |= 1 << i
		}
	}
	return match
}

// isSender reports whether from is the sender's URI or its nickname's IM
// URI (draft-niemi-00 §4.2, §4.3.3: participants SHOULD write the latter).
func isSender(from string, sender *Participant) bool {
	if cpim.URIEqual(from, sender.URI) {
		return true
	}
	a := sender.nick.load()
	return a != nil && cpim.URIEqual(from, a.uri)
}

// privateCapable: the session's a=chatroom had the private-messages token; a
// conference-unaware session (no a=chatroom) never has (SPEC §1.7).
func privateCapable(m *Participant) bool { return m.Caps.ChatroomAware && m.Caps.PrivateMessages }

// sameURI is cpim.URIEqual(m.URI, sender.URI), skipped when the keys differ.
func sameURI(m, sender *Participant) bool {
	if m.uriKey != "" && sender.uriKey != "" && m.uriKey != sender.uriKey {
		return false
	}
	return cpim.URIEqual(m.URI, sender.URI)
}
