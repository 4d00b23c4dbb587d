// Package iscomposing reads and writes RFC 3994 isComposing status
// documents (application/im-iscomposing+xml): the "X is typing…" indication
// of instant messaging. In a chat room (RFC 7701) a participant sends one
// wrapped in message/cpim like any other content; the switch relays it to
// the room, or to one participant when the CPIM To names one, and only to
// the recipients whose a=accept-wrapped-types admits the type.
//
// A Status is the document: a state (active or idle, RFC 3994 §3), with an
// optional last-active time, the type of content being composed and, for
// an active state, a refresh interval. Marshal writes one; Parse reads one,
// strictly where it matters (the root element and its namespace, one state,
// a positive refresh, a valid time) and leniently elsewhere: an unknown
// state is idle (§4: "any value other than active … MUST be treated as
// idle"), unknown elements are skipped.
//
// The package also holds the timing rules a sender and a receiver follow
// (§3, §4): a sender refreshes an active state no more often than every
// RefreshInterval and goes idle after IdleTimeout without typing; a
// receiver shows a participant as composing until an idle state, a content
// message from it, or the refresh interval (DefaultActiveTimeout when the
// document gives none) running out. Expires computes the last of these.
//
// The package uses only the standard library and has no state.
package iscomposing
