// Package conference is the notifier of the SIP conference event package
// (RFC 4575) for parley's chat rooms (RFC 7701 §7.4): it keeps each room's
// roster as the event package shows it, and decides which NOTIFY goes to
// which subscriber, with which body, and when. The focus owns the SIP side:
// it calls Joined, Left, Bound, NicknameChanged and RoomDeleted as
// participants come and go, Subscribe, Refresh and Unsubscribe as
// SUBSCRIBEs arrive, and sends what the Notifier hands to its Sender.
//
// # The roster
//
// Each room (keyed by its *room.Room) has a roster of users in join order.
// A user is one participant URI (room.Participant.URI: its AOR, or its
// anonymous URI); each participant session sharing that URI is one of its
// endpoints (room.Participant.Endpoint, in join order), pending until
// Bound, then connected, with one MSRP media stream (id "1", message,
// sendrecv). Two devices of one user are one <user> with two <endpoint>s;
// the user goes when its last endpoint leaves.
//
// A user's display-text is the display name of its most recently joined
// endpoint that has one; an anonymous user has none and its endpoints are
// named by its anonymous URI, whatever Participant.Endpoint says, so the
// document reveals nothing but that URI (RFC 7701 §5.2). A user's
// xcon:nickname (RFC 7701 §7.4, §9.6) is the nickname most recently set by
// any of its endpoints that still holds one: when that endpoint removes its
// nickname or leaves, the user shows the next most recent one, or none.
// Strings that XML cannot carry (invalid UTF-8, control characters) are
// replaced by U+FFFD, so that every document can be written.
//
// # Documents
//
// The NOTIFY a Subscribe or Refresh triggers carries the full document
// (RFC 4575 §4). Every roster change (join, leave, bind, nickname) is then
// notified as a partial document: <users state="partial"> with only the
// changed users, each a full <user> of its current state or, once gone,
// <user state="deleted"/>, and the whole <conference-state> (user-count,
// active, locked), since a subscriber replaces that element whole. Final
// NOTIFYs (Unsubscribe, expiry) carry the full document; those of a deleted
// room, or of Shutdown, a document with no users and active false. Versions
// are scoped to a subscription: 1 for its first NOTIFY, one more for each
// later one, consecutive, whatever its kind. The entity is the URI the
// subscriber subscribed to.
//
// # Rate limit and ordering
//
// A subscriber gets at most one NOTIFY per Config.Interval (RFC 4575 §3.9
// recommends 5 s). Changes between two are coalesced: the roster keeps a
// log of the entities it changed, and a subscription a cursor into it (the
// changes it has been told of), so its dirty set is the log past its
// cursor; the next NOTIFY is built from the roster as it is then. The first
// change after a quiet Interval goes out at once, later ones at the last
// send plus Interval (a timer). A subscription has at most one NOTIFY in
// flight (RFC 6665 ordering): what falls due meanwhile waits for its done.
// Full documents (Refresh) and final NOTIFYs are not rate limited, but wait
// for the NOTIFY in flight too. A failed NOTIFY (done(false)) drops the
// subscription: it gets nothing more.
//
// # Cost
//
// A partial body depends only on the changes between a cursor and the
// roster's present state, so it is encoded once (by confinfo) and shared by
// every subscriber whose cursor is the same: subscribers that keep up
// share one encoding per change, and each NOTIFY only costs splicing its
// own entity and version into a copy. A join in a room of 1,000 users thus
// sends each subscriber a few hundred octets, not the roster. The full
// document is encoded at most once per roster state, and shared the same
// way.
//
// # Concurrency and lock order
//
// A Notifier is safe for concurrent use. Notifier.mu guards the map of
// rosters and the shutdown flag; each roster has its own mutex (roster.mu)
// guarding the roster and every subscription to it. The order is
//
//	Notifier.mu → roster.mu
//
// (roster.mu is taken under Notifier.mu only to retire an empty roster).
// No lock is held while calling the Sender, while logging, or while the
// Sender's done callbacks run: NOTIFYs are decided under roster.mu and
// handed over after it is released, so SendNotify may call done at once.
// The package starts no goroutine of its own: timers (time.AfterFunc) rate
// limit and expire subscriptions, and are stopped when their subscription
// ends; Shutdown ends every subscription.
package conference
