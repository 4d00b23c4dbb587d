// Package client is the library every client-side parley program uses (the
// CLI, the integration tests, the load tool, later the web gateway) to take
// part in RFC 7701 chat rooms.
//
// # Joining and leaving
//
// Join sends an INVITE with an SDP offer (m=message 9 TCP/MSRP *,
// a=accept-types:message/cpim, a=accept-wrapped-types, a=path with a fresh
// session-id, a=setup:active, a=chatroom), ACKs the 2xx, checks the answer
// (isfocus, an MSRP path, message/cpim), connects to the first URI of the
// focus's path and binds the session with a bodiless SEND (RFC 4975 §5.4,
// RFC 6135). The INVITE goes to the room URI's host and port, or to
// Options.Server when the room's domain does not lead to the server.
//
// Over TLS (a sips: room URI, or Options.Transport "tls") SIP goes over
// one TLS connection the Session opens and keeps, and the MSRP stream is
// TCP/TLS/MSRP with msrps: paths. With Options.Transport "ws" the
// Session does as a browser does (RFC 7118, RFC 7977): SIP over one
// secure WebSocket to Options.WebSocketURL (by default
// wss://<room host>:8443/, parleyd's HTTPS port) with the subprotocol
// sip, kept for every request and for what the focus sends; Via, Contact
// and our MSRP path name a random .invalid host; the offer's path is
// msrps://<that host>:2855/<session-id>;ws, and the Session connects to
// the switch's msrps: ;ws URI with a second secure WebSocket, subprotocol
// msrp, writing each MSRP message (a chunk of at most 2048 octets of
// body) as one WebSocket message and reading the switch's WebSocket
// messages as one MSRP stream. Options.TLS verifies both WebSockets.
// Session.Leave sends BYE. A Session also ends when the focus sends BYE
// (Err is ErrEndedByFocus, with the BYE's Reason as a *ByeReason when it
// has one: 503 server shutting down, 410 room deleted) or when the MSRP
// connection is lost (ErrConnectionLost; the Session sends BYE), unless
// Options.Reconnect has it join again.
//
// # Reconnecting
//
// With Options.Reconnect.Enabled a Session that loses the room for a
// reason that may pass joins it again by itself: when the MSRP
// connection fails or closes without the focus's BYE following, when the
// focus's BYE says the server is shutting down (Reason: SIP ;cause=503,
// parleyd's at shutdown), or when a BYE without Reason comes after the
// MSRP connection ended (parleyd's when the switch saw the connection
// drop; a BYE without Reason is answered only once the connection has had
// 100 ms to end). Never after any other BYE (410 room deleted, a removal
// by a moderator), nor after Leave. Each attempt is a new INVITE to the
// same room with the same identity (From), display name and options, a
// new MSRP connection and bind, after a wait that doubles from
// Reconnect.Delay up to Reconnect.MaxDelay, less a random part (Jitter)
// so that the participants of a restarted room do not all come back at
// once. An attempt that fails for a reason that may pass (no answer, a
// refused connection, 408, 480, 5xx) is followed by the next, up to
// Reconnect.MaxAttempts; any other failure (403, 404, 410, 486…) ends the
// Session at once, with an Err wrapping ErrReconnectFailed.
//
// Meanwhile the Session has not ended: Done stays open, Err nil, and
// Send, SetNickname and the like return ErrReconnecting without sending.
// Once back, the Session asks for the nickname it had (the room gives it
// back unless someone else took it meanwhile), subscribes to the roster
// anew (a RosterReset follows) and goes on delivering on the same Messages
// channel: first what the room replays from its history (parleyd: what
// was said while the Session was away, as it comes back with the same
// identity; Message.History set), then live messages.
// Session.ReconnectEvents tells the application each step: Reconnecting
// (attempt n, after a delay, and why), Reconnected, ReconnectFailed.
// Session.Leave ends a reconnection: a wait at once, an attempt under way
// as a canceled Join (bounded by Options.Timeout).
//
// Reconnecting is off by default: a Session then ends as it always has,
// and a library user who did not ask for it never sees ErrReconnecting,
// nor a Session outliving its server. A program that turns it on (the
// parley CLI does) shows the events, and is then spared handling a server
// restart itself; programs that run many Sessions (load tools, tests)
// usually want to decide themselves when to come back. Join itself makes
// one attempt only, whatever the policy.
//
// Options.Privacy adds "Privacy: id" (RFC 3323, RFC 3325) to the INVITE:
// the room then shows the participant under an anonymous URI. From stays
// as given; for an anonymous From as well, set From to
// "sip:anonymous@anonymous.invalid" yourself.
//
// # Chatting
//
// Session.Send sends text to the room; Session.SendPrivate to one
// participant; Session.SendMessage is the general form (recipients, content
// type). Each is an MSRP SEND of a message/cpim object (RFC 3862) with
// From <Options.From>, To <room URI> (or the recipient), DateTime and the
// content, cut in chunks of at most 2048 octets when larger, and each
// waits for the switch's 200 to every chunk. Session.SetNickname sends
// NICKNAME (RFC 7701 §7) and waits for its answer. A refusal comes back as
// an error wrapping *msrp.StatusError:
//
//	var se *msrp.StatusError
//	if errors.As(err, &se) && se.Code == msrp.StatusNicknameInUse { … }
//
// What the focus's a=chatroom does not allow (private-messages, nickname)
// is refused locally with ErrPrivateMessagesNotAllowed or
// ErrNicknamesNotAllowed, as sipsimple does; once the Session has ended
// every method returns ErrSessionEnded. These methods are safe for
// concurrent use: requests are correlated with their responses by
// transaction id, and a waiter is removed however its wait ends.
//
// The CPIM From carries a display name, so that receivers can name the
// sender before the roster says who it is: the nickname in effect once
// SetNickname succeeded, else Options.DisplayName; none with
// Options.Privacy. Session.SendComposing sends an RFC 3994 isComposing
// status (application/im-iscomposing+xml) to the room or to one
// participant, and Message.Composing reads one.
//
// Session.Messages is a channel of the messages received: each incoming
// SEND is answered (200; 415 when not message/cpim; 400 when its CPIM does
// not parse; 413 over Options.MaxMessageSize), chunks are reassembled by
// Message-ID (a "#" chunk drops its message), and every complete message
// is delivered as a Message, with Private set when its CPIM To is not the
// room URI (RFC 7701 §6.2) and System when its From is the room URI. The
// channel is buffered (Options.MessageBuffer) and the read loop never
// waits for the application: a message that finds it full is dropped and
// counted by Session.Dropped. The channel is closed right after Done, so
// a range over it ends once the Session has ended and Err is final.
//
// Rooms are compared by URI (cpim.URIEqual) with the room URI given to
// Join: when other participants name the room differently (another host
// name, or a port on one side only), their regular messages are taken for
// private ones.
//
// # Roster
//
// When the focus's 2xx to the INVITE has isfocus in its Contact and
// conference in its Allow-Events, the Session subscribes to the room's
// conference event package (RFC 4575, RFC 4579 §3.4), unless
// Options.NoRoster is set: a SUBSCRIBE to the room URI outside the INVITE
// dialog (a Call-ID and From tag of its own), Event: conference, Accept:
// application/conference-info+xml, Expires: Options.RosterExpires. It
// refreshes the subscription in its dialog before the granted duration
// runs out (at 3/4 of it, or 32 s before the end if sooner), and ends it
// (Expires: 0) when the Session ends, alongside the BYE.
//
// Each NOTIFY of the subscription is answered 200 (481 when it belongs to
// no current subscription: another Call-ID, To tag or focus tag) and its
// conference-info document applied as RFC 4575 §4.6 says
// (confinfo.Apply): a document not newer than the local version is
// ignored; a full one replaces the state; a partial one with the next
// version is merged; a partial one after a gap, or a document that does not
// parse, makes the Session refresh the subscription, whose NOTIFY brings
// full state. A NOTIFY that arrives before the SUBSCRIBE's 200 is taken
// as well (RFC 6665 §4.1.2.4). Subscription-State terminated with reason
// noresource, rejected or invariant, or a document whose state is deleted,
// end the roster for good (the room is gone); another reason (timeout,
// deactivated, probation…), a 481 to a refresh, a refresh not answered or
// no NOTIFY within Timer N of the 2xx make the Session subscribe anew, at
// most a few times in a row.
//
// Session.Roster returns the participants (Member: URI, display text,
// nickname, endpoints) in document order, Session.Lookup finds one by
// nickname (for SendPrivate), Session.RosterEvents reports the changes:
// a RosterReset with the whole roster first (and again after a
// reconnection, whose subscription is new), then MemberJoined,
// MemberLeft and MemberChanged, computed by diffing the roster before and
// after each document (by user entity). Like Messages, the channel is
// buffered (Options.RosterBuffer), never waited on (Session.RosterDropped
// counts what did not fit) and closed right after Done. Session.RosterErr
// says why there is no roster.
//
// # Internals
//
// A Session joins the room with a leg: a sipgo user agent, the INVITE
// dialog, the MSRP connection. It has one live leg at a time; a
// reconnection makes a new leg (a new user agent, Call-ID, MSRP session)
// once the lost one is released. The Messages, RosterEvents and
// ReconnectEvents channels, Done, Err, the nickname in effect and the
// roster belong to the Session and outlive its legs.
//
// Each leg has its own sipgo user agent, listening on
// Options.LocalAddr (over UDP, for TCP on the same port too, RFC 3261
// §18.2.1, when it can), so that it can receive the focus's BYE and
// NOTIFYs; over TLS and WebSocket it listens for nothing and receives
// them on the connection it opened (sipgo's TLS and WSS transports, the
// latter dialing with the same tls.Config); the dialog layer (From/To tags, CSeq, ACK, CANCEL, BYE,
// SUBSCRIBE) is ours, as in the focus. Requests go straight to the focus:
// no Record-Route, no DNS SRV.
//
// # Goroutines
//
//	goroutine            owner    started by           ends when
//	SIP serve loop       leg      newLeg (agent.start) release closes the leg's SIP listener(s) and waits for it
//	(and, over UDP, its
//	TCP twin)
//	MSRP read loop       leg      newLeg, once         the connection closes (EOF, error, or release
//	                              connected            closing it); release waits for it
//	roster goroutine     leg      Join or reconnect,   stopRoster (Leave, onBye, connEnded, release)
//	(runRoster)                   once live, when      cancels its context and waits for it; or the
//	                              subscribing          roster ends for good. Each of its waits is bounded
//	                                                   by that context, SIP ones by Timeout as well
//	unsubscribe          its      leaveRoster (Leave,  the SUBSCRIBE Expires: 0 is answered and the final
//	(and its watcher of  starter  onBye, connEnded)    NOTIFY came, or the final NOTIFY came, or ctx /
//	the final NOTIFY)                                  Timeout (+1 s for the NOTIFY) ran out; its starter
//	                                                   waits for it before release
//	reconnect goroutine  Session  lost, when a lost    the new leg is live; or it gives up, or Leave
//	(reconnect)                   leg may rejoin       cancels quit (its wait ends at once, an attempt
//	                                                   as a canceled Join), and it runs finish
//	sipgo's own          sipgo    sipgo                release closes the user agent: its transactions,
//	(handlers, timers,                                 its connections (the TCP, TLS or WebSocket one to
//	connection readers)                                the focus) and so their readers
//
// The NOTIFY handler (onNotify) runs on a sipgo handler goroutine and never
// blocks: it updates the roster under roster.mu, sends events without
// waiting and wakes the roster goroutine through a one-slot channel.
//
// Send, SendMessage, SendPrivate and SetNickname run on their caller's
// goroutine and start none.
//
// The loss or ending of the live leg runs exactly once, on the goroutine
// that moved the Session away from active under Session.mu:
//
//   - Leave, after its BYE and the unsubscribe it runs alongside (both
//     bounded by ctx and Options.Timeout);
//   - the sipgo handler goroutine of the focus's BYE, after answering 200
//     and unsubscribing (bounded by Options.Timeout);
//   - the MSRP read loop, when the connection drops under a live leg: it
//     waits up to one second for the focus's BYE (parleyd closes the
//     connection, then sends BYE), else sends BYE itself (bounded by
//     Options.Timeout), unsubscribing alongside.
//
// That goroutine releases the leg (release: stop the roster goroutine,
// close the MSRP connection, end the INVITE transaction, stop the user
// agent; no network waits) and then either ends the Session (finish: set
// Err, close Done, the Messages, RosterEvents and ReconnectEvents
// channels) or, when the loss may pass and Options.Reconnect is on
// (stLost), starts the reconnect goroutine, which owns what follows:
// finish when it gives up or Leave comes, or making the new leg live,
// after which the owners above apply again. Join owns the ending when its
// first leg fails. finish runs once, when no leg is live; when Done is
// closed, every goroutine of the Session has stopped or is returning.
//
// # Locks
//
// Session.mu guards the state, the live leg, Err, the leaving flag and
// each leg's focus-BYE fields and MSRP connection; Session.evMu the
// ReconnectEvents channel (taken under Session.mu when a leg goes live,
// never the other way); dialog.mu the
// dialog fields learnt from the 2xx; msrpConn.writeMu one write on the MSRP
// connection; msrpConn.idMu its IDSource; msrpConn.pendMu the map of
// requests awaiting a response; roster.mu the roster (document, members,
// events, RosterErr) and the current subscription's fields. None is held
// while another is taken, or during I/O (writeMu excepted: it exists to
// serialise writes, which have a deadline), except that the dialog.mu of
// a subscription is taken under roster.mu.
//
// # Requests and responses
//
// msrpConn.do writes a request's chunks in order, each with a fresh
// transaction id registered in msrpConn.pending before the write; the read
// loop hands each response to its waiter (a buffered channel, so it never
// blocks) and drops responses nobody waits for. Incoming SENDs go to
// leg.handleSend on the read loop, which reassembles (leg.in, read
// goroutine only) and delivers without blocking. Session.msgs is sent on
// only by the read goroutine of the leg being joined or live, and closed
// by finish once no leg is left.
package client
