package room

import (
	"fmt"
	"time"
)

// DeletePolicy says when a room is deleted (RFC 7701 §4.1 item 4, §5.3).
type DeletePolicy uint8

const (
	DeleteWhenLastLeaves    DeletePolicy = iota // default for ad hoc rooms
	DeleteWhenCreatorLeaves                     // the room ends with its creator
	DeleteNever                                 // configured rooms: deleted out of band only
)

func (d DeletePolicy) String() string {
	switch d {
	case DeleteWhenCreatorLeaves:
		return "creator-leaves"
	case DeleteNever:
		return "never"
	}
	return "last-leaves"
}

// ParseDeletePolicy parses "last-leaves", "creator-leaves" or "never".
func ParseDeletePolicy(s string) (DeletePolicy, error) {
	switch s {
	case "last-leaves":
		return DeleteWhenLastLeaves, nil
	case "creator-leaves":
		return DeleteWhenCreatorLeaves, nil
	case "never":
		return DeleteNever, nil
	}
	return 0, fmt.Errorf("room: unknown deletion policy %q", s)
}

// Policy is the configuration of one room.
type Policy struct {
	Subject            string
	DeleteWhen         DeletePolicy
	Nicknames          bool     // NICKNAME allowed: advertised as the "nickname" chatroom token
	PrivateMessages    bool     // advertised as the "private-messages" chatroom token
	MultiplePrivate    bool     // draft-niemi-00 §4.2: a private message may name several participants (CPIM To and cc)
	AcceptWrappedTypes []string // the answer's a=accept-wrapped-types
	MaxParticipants    int      // 0: unlimited

	Nick           NickPolicy // nickname rules; Nick.Allowed mirrors Nicknames
	SystemMessages bool       // the room sends its own notices (joins, leaves, congestion) as CPIM from the room URI
	MaxMessage     int64      // largest message the switch relays, in octets (413 above it); 0: unlimited
	RequireTLS     bool       // only participants over SIP/TLS with an msrps path (RFC 7701 §4.1); others get 488

	History       int           // regular messages kept and replayed on join (issue 16); 0: none
	HistoryMaxAge time.Duration // the oldest a kept message may be (0: no bound)
	EmptyGrace    time.Duration // an ad hoc room that emptied lingers this long before it is deleted

	// DenyGuests: only participants who authenticated as an account (or
	// whom a trusted proxy asserted) are admitted; others are challenged
	// (issue 17).
	DenyGuests bool
	// WatchersParticipantsOnly: only the room's participants may subscribe
	// to its conference events (RFC 4575 §9); others get 403.
	WatchersParticipantsOnly bool
	// GuestsForeignOnly: a guest's URI must be outside the server's
	// domain (403 otherwise), so that no guest looks like an account.
	GuestsForeignOnly bool
}

// Mode says which rooms exist.
type Mode uint8

const (
	ModeAdHoc      Mode = iota // the first INVITE to a room URI creates the room
	ModeConfigured             // only configured rooms exist; others are 404
)
