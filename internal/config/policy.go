package config

import "slices"

// MaxHistory is the most messages a room may keep (rooms.history).
const MaxHistory = 10000

// DeleteWhen says when a room is deleted (RFC 7701 §4.1, §5.3).
type DeleteWhen string

// Deletion policies.
const (
	DeleteLastLeaves    DeleteWhen = "last-leaves"    // when its last participant leaves
	DeleteCreatorLeaves DeleteWhen = "creator-leaves" // when the participant who created it leaves
	DeleteNever         DeleteWhen = "never"          // only by configuration
)

// Guests says whether a room admits participants who have not
// authenticated (issue 17): "allow" admits them, marked as guests; "deny"
// challenges every INVITE (401) until it proves an account.
type Guests string

// Guest policies.
const (
	GuestsAllow Guests = "allow"
	GuestsDeny  Guests = "deny"
)

// GuestURIs says which URIs a guest may join with (issue 17): any that is
// no account's ("any"), or only URIs outside the server's domain
// ("foreign"), so that no guest can look like an account of this server
// to a client that does not show roles.
type GuestURIs string

// Guest URI policies.
const (
	GuestURIsAny     GuestURIs = "any"
	GuestURIsForeign GuestURIs = "foreign"
)

// Watchers says who may subscribe to a room's conference events (RFC 4575
// §9, issue 17): anyone ("anyone", a public room) or only its participants
// ("participants"; others get 403).
type Watchers string

// Watcher policies.
const (
	WatchersAnyone       Watchers = "anyone"
	WatchersParticipants Watchers = "participants"
)

// NicknameScope is where a nickname must be unique (RFC 7701 §7).
type NicknameScope string

// Nickname scopes.
const (
	ScopeRoom  NicknameScope = "room"  // unique in the room (RFC 7701 minimum)
	ScopeFocus NicknameScope = "focus" // unique across all rooms of this focus (draft-niemi-00)
)

// Policy is the policy of one room: the RFC 7701 §4.1 attributes parley
// implements. [rooms] holds the default; a [[room]] entry may override any
// key.
type Policy struct {
	DeleteWhen         DeleteWhen    `toml:"delete_when"`
	MaxParticipants    int           `toml:"max_participants"`
	Nicknames          bool          `toml:"nicknames"`           // NICKNAME allowed (403 when not)
	NicknameScope      NicknameScope `toml:"nickname_scope"`      // where nicknames are unique
	MaxNicknameBytes   int           `toml:"max_nickname_bytes"`  // longest nickname, UTF-8 octets (≤ 1023)
	ReservedNicknames  []string      `toml:"reserved_nicknames"`  // nobody may take these (425)
	NicknameQuarantine Duration      `toml:"nickname_quarantine"` // a released nickname stays its holder's this long
	PrivateMessages    bool          `toml:"private_messages"`    // private messages allowed (403 when not)
	MultiplePrivate    bool          `toml:"multiple_private"`    // draft-niemi-00: one private message to several participants (To and cc)
	AcceptWrappedTypes []string      `toml:"accept_wrapped_types"`
	SystemMessages     bool          `toml:"system_messages"` // join/leave/congestion notices from the room URI
	// RequireTLS: the room admits only participants whose SIP request came
	// over TLS and whose MSRP path is msrps (RFC 7701 §4.1: a policy may
	// require a secure transport); others get 488 with a Warning.
	RequireTLS bool `toml:"require_tls"`
	// History is how many of the room's last regular messages it keeps and
	// replays to a joining participant (0: none); HistoryMaxAge the oldest
	// a kept message may be. EmptyGrace is how long an ad hoc room that
	// emptied lingers with its history before it is deleted.
	History       int      `toml:"history"`
	HistoryMaxAge Duration `toml:"history_max_age"`
	EmptyGrace    Duration `toml:"empty_grace"`
	// Guests: whether participants who have not authenticated are admitted
	// (as guests) or challenged for an account's credentials.
	Guests Guests `toml:"guests"`
	// Watchers: who may subscribe to the room's roster.
	Watchers Watchers `toml:"watchers"`
	// GuestURIs: which URIs guests may use.
	GuestURIs GuestURIs `toml:"guest_uris"`
}

// PolicyOverride is the part of a [[room]] entry that overrides [rooms]:
// one pointer per Policy field, nil when the entry does not set the key.
// A list override replaces the default list; it is not appended to it.
type PolicyOverride struct {
	DeleteWhen         *DeleteWhen    `toml:"delete_when"`
	MaxParticipants    *int           `toml:"max_participants"`
	Nicknames          *bool          `toml:"nicknames"`
	NicknameScope      *NicknameScope `toml:"nickname_scope"`
	MaxNicknameBytes   *int           `toml:"max_nickname_bytes"`
	ReservedNicknames  *[]string      `toml:"reserved_nicknames"`
	NicknameQuarantine *Duration      `toml:"nickname_quarantine"`
	PrivateMessages    *bool          `toml:"private_messages"`
	MultiplePrivate    *bool          `toml:"multiple_private"`
	AcceptWrappedTypes *[]string      `toml:"accept_wrapped_types"`
	SystemMessages     *bool          `toml:"system_messages"`
	RequireTLS         *bool          `toml:"require_tls"`
	History            *int           `toml:"history"`
	HistoryMaxAge      *Duration      `toml:"history_max_age"`
	EmptyGrace         *Duration      `toml:"empty_grace"`
	Guests             *Guests        `toml:"guests"`
	Watchers           *Watchers      `toml:"watchers"`
	GuestURIs          *GuestURIs     `toml:"guest_uris"`
}

// Apply returns p with o's set fields replacing p's.
func (o *PolicyOverride) Apply(p Policy) Policy {
	set(&p.DeleteWhen, o.DeleteWhen)
	set(&p.MaxParticipants, o.MaxParticipants)
	set(&p.Nicknames, o.Nicknames)
	set(&p.NicknameScope, o.NicknameScope)
	set(&p.MaxNicknameBytes, o.MaxNicknameBytes)
	set(&p.ReservedNicknames, o.ReservedNicknames)
	set(&p.NicknameQuarantine, o.NicknameQuarantine)
	set(&p.PrivateMessages, o.PrivateMessages)
	set(&p.MultiplePrivate, o.MultiplePrivate)
	set(&p.AcceptWrappedTypes, o.AcceptWrappedTypes)
	set(&p.SystemMessages, o.SystemMessages)
	set(&p.RequireTLS, o.RequireTLS)
	set(&p.History, o.History)
	set(&p.HistoryMaxAge, o.HistoryMaxAge)
	set(&p.EmptyGrace, o.EmptyGrace)
	set(&p.Guests, o.Guests)
	set(&p.Watchers, o.Watchers)
	set(&p.GuestURIs, o.GuestURIs)
	return p
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// RoomPolicy returns the policy of the room called name and whether a
// [[room]] entry configures it. A configured room starts from [rooms] with
// delete_when = "never" and applies its overrides; any other room gets the
// [rooms] policy (in mode "configured" such a room does not exist: 404).
// The returned lists are copies.
func (c *Config) RoomPolicy(name string) (Policy, bool) {
	p := c.Rooms.Policy
	r := c.FindRoom(name)
	if r != nil {
		p.DeleteWhen = DeleteNever
		p = r.Apply(p)
	}
	p.ReservedNicknames = slices.Clone(p.ReservedNicknames)
	p.AcceptWrappedTypes = slices.Clone(p.AcceptWrappedTypes)
	return p, r != nil
}
