package client

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-im/parley/cpim"
	"github.com/parley-im/parley/msrp"
)

// DefaultContentType is the content type of Send, SendPrivate and of an
// Outgoing that leaves ContentType empty.
const DefaultContentType = "text/plain;charset=utf-8"

// Outgoing is a message for SendMessage.
type Outgoing struct {
	// To are the CPIM To URIs. nil or empty: the room, a regular message
	// (RFC 7701 §6.1). One participant's URI (as learnt from the conference
	// event package, or its anonymous URI): a private message (§6.2). A
	// message with several To headers is sent as given, but the switch
	// refuses it with 403 (RFC 7701 §6.1, §6.2): send one private message
	// per recipient instead.
	To []string
	// ContentType is the media type of Body, the CPIM content (default
	// DefaultContentType). Recipients whose a=accept-wrapped-types does not
	// allow it do not get the message (RFC 7701 §6.1).
	ContentType string
	// Body is the content, sent as it is.
	Body []byte
}

// Message is a message received from the switch: the CPIM object of a
// complete (reassembled) SEND.
type Message struct {
	From        string    // the CPIM From URI, without display name and angle brackets
	FromDisplay string    // the CPIM From display name, "" when absent
	To          []string  // the CPIM To URIs, in order
	Private     bool      // no To is the room URI: a private message (RFC 7701 §6.2)
	System      bool      // From is the room URI: a notice from the room itself
	ContentType string    // the wrapped content's type, e.g. "text/plain;charset=utf-8"
	Body        []byte    // the content; a sub-slice of Raw
	MessageID   string    // the MSRP Message-ID
	DateTime    time.Time // the CPIM DateTime; zero when absent or unparsable
	// History is when the room received a message it replays from its
	// history (to a participant who joins, or comes back); zero for a live
	// message. parleyd marks such a message with a CPIM header in its
	// namespace (HistoryNamespace, RFC 3862 §3.1); the rest is the
	// sender's message as it was.
	History time.Time
	Raw     []byte // the whole CPIM object (cpim.Parse it for other headers)
}

// HistoryNamespace is the CPIM namespace of parleyd's history header
// (<prefix>.History: <RFC 3339 date-time>).
const HistoryNamespace = "https://github.com/parley-im/parley/ns/history"

// Send sends text to the room: a regular message (RFC 7701 §6.1) with
// content type DefaultContentType. See SendMessage.
func (s *Session) Send(ctx context.Context, text string) error {
	return s.SendMessage(ctx, Outgoing{Body: []byte(text)})
}

// SendPrivate sends text to the participant whose URI is to only: a
// private message (RFC 7701 §6.2). It fails with
// ErrPrivateMessagesNotAllowed, without sending anything, when the focus's
// a=chatroom lacks private-messages, and with ErrInvalidMessage when to is
// the room URI. See SendMessage.
func (s *Session) SendPrivate(ctx context.Context, to string, text string) error {
	if s.isRoom(to) {
		return fmt.Errorf("%w: a private message to the room itself", ErrInvalidMessage)
	}
	return s.SendMessage(ctx, Outgoing{To: []string{to}, Body: []byte(text)})
}

// SendMessage sends out as an MSRP SEND of a message/cpim object
// (RFC 3862) with From <Options.From>, To <the room URI given to Join> or
// out.To, DateTime (now, UTC) and the content. Each SEND has a fresh
// Message-ID, no Success-Report and the default Failure-Report (yes), so
// that the switch answers every chunk. A CPIM object over 2048 octets goes
// in chunks of at most 2048 octets (RFC 4975 §7.1.1), each its own
// transaction, in order; chunks of concurrent sends may alternate on the
// connection, which RFC 4975 allows.
//
// A message is private when a To is not the room URI (compared with
// cpim.URIEqual); it is refused locally with ErrPrivateMessagesNotAllowed
// when the focus's a=chatroom lacks private-messages.
//
// SendMessage waits for the switch's response to every chunk, bounded by
// ctx and, after the last chunk is written, by Options.Timeout. It returns
// nil when all are 200; an error wrapping *msrp.StatusError for another
// code (errors.As gives Code: 403 not allowed, 404 unknown recipient, 413
// too large, 415 type refused, 428 recipient takes no private messages…),
// after which no further chunk is sent; an error wrapping ErrTimeout,
// ErrConnectionLost (the connection closed or the Session ended before the
// answer) or ctx's error; ErrSessionEnded when the Session had ended;
// ErrReconnecting, without sending anything, while it joins the room
// again (Options.Reconnect); ErrInvalidMessage for a recipient URI or content type that cannot be
// written. A timed-out or canceled message may still have been delivered.
//
// It is safe to call from several goroutines at once.
func (s *Session) SendMessage(ctx context.Context, out Outgoing) error {
	l, err := s.live()
	if err != nil {
		return err
	}
	to := out.To
	if len(to) == 0 {
		to = []string{s.RoomURI()}
	}
	addrs := make([]cpim.Address, len(to))
	private := false
	for i, u := range to {
		if !cpimURI(u) {
			return fmt.Errorf("%w: recipient %q", ErrInvalidMessage, u)
		}
		addrs[i] = cpim.Address{URI: u}
		if !s.isRoom(u) {
			private = true
		}
	}
	if private && !(l.answer.chatroomOK && l.answer.chatroom.PrivateMessages) {
		return ErrPrivateMessagesNotAllowed
	}
	ct := out.ContentType
	if ct == "" {
		ct = DefaultContentType
	}
	if !validContentType(ct) {
		return fmt.Errorf("%w: content type %q", ErrInvalidMessage, ct)
	}
	m := cpim.New(cpim.Address{DisplayName: s.cpimDisplay(), URI: s.cfg.fromURI}, addrs, ct, out.Body)
	m.SetDateTime(time.Now().UTC().Truncate(time.Second))
	body := m.Bytes()

	mid := l.conn.messageID()
	var reqs []*msrp.Message
	ch := msrp.NewChunker(body, msrp.InterruptibleSize)
	for {
		r, data, flag, ok := ch.Next()
		if !ok {
			break
		}
		reqs = append(reqs, &msrp.Message{Method: msrp.MethodSEND, Body: data, Flag: flag, Header: msrp.Header{
			{Name: msrp.HeaderToPath, Value: l.conn.toPath},
			{Name: msrp.HeaderFromPath, Value: l.conn.local.String()},
			{Name: msrp.HeaderMessageID, Value: mid},
			{Name: msrp.HeaderByteRange, Value: r.String()},
			{Name: msrp.HeaderContentType, Value: cpimType},
		}})
	}
	return l.conn.do(ctx, msrp.MethodSEND, reqs)
}

// SetNickname asks the switch for nick as our nickname in the room
// (RFC 7701 §7): an MSRP NICKNAME with Use-Nickname as a quoted-string and
// no Success-Report or Failure-Report. nick "" removes the nickname
// (Use-Nickname: "", §7.3). It waits for the response as SendMessage does:
// nil for 200; an error wrapping *msrp.StatusError otherwise (403 not
// allowed, 424 malformed, 425 in use or reserved), in which case the
// previous nickname stays in effect (§7.2). It fails without sending with
// ErrNicknamesNotAllowed when the focus's a=chatroom lacks nickname, and
// with an error wrapping msrp.ErrMalformedNickname when nick cannot be
// quoted (control characters, over 1023 octets, invalid UTF-8), and with
// ErrReconnecting while the Session joins the room again. The switch
// prepares and compares nicknames (RFC 8266); the Session does not. After
// a reconnection (Options.Reconnect) the Session asks for the nickname in
// effect again; the Reconnected event says if it was refused.
func (s *Session) SetNickname(ctx context.Context, nick string) error {
	l, err := s.live()
	if err != nil {
		return err
	}
	if err := l.setNickname(ctx, nick, false); err != nil {
		return err
	}
	s.nick.Store(&nick)
	return nil
}

// RegisterNicknameHeader is the MSRP extension header with which a
// participant of a parleyd account takes a nickname and registers it to
// its account (issue 17): "Parley-Register: nickname". Another switch
// ignores it (RFC 4975: unknown headers are ignored) and just sets the
// nickname.
const RegisterNicknameHeader = "Parley-Register"

// RegisterNickname takes nick as SetNickname does and registers it to the
// account the Session authenticated as (Options.Password): from then on
// nobody else can take it, or anything that looks like it, in any room of
// the server. The switch answers 425 when another account holds it, 403
// to a Session that is not an account's (an *msrp.StatusError either way).
func (s *Session) RegisterNickname(ctx context.Context, nick string) error {
	l, err := s.live()
	if err != nil {
		return err
	}
	if err := l.setNickname(ctx, nick, true); err != nil {
		return err
	}
	s.nick.Store(&nick)
	return nil
}

// setNickname sends NICKNAME on the leg and waits for its answer; with
// register, asking the switch to register it to our account.
func (l *leg) setNickname(ctx context.Context, nick string, register bool) error {
	if !(l.answer.chatroomOK && l.answer.chatroom.Nickname) {
		return ErrNicknamesNotAllowed
	}
	q, err := msrp.QuoteNickname(nick)
	if err != nil {
		return fmt.Errorf("client: NICKNAME: %w", err)
	}
	req := &msrp.Message{Method: msrp.MethodNICKNAME, Header: msrp.Header{
		{Name: msrp.HeaderToPath, Value: l.conn.toPath},
		{Name: msrp.HeaderFromPath, Value: l.conn.local.String()},
		{Name: msrp.HeaderUseNickname, Value: q},
	}}
	if register {
		req.Header = append(req.Header, msrp.Field{Name: RegisterNicknameHeader, Value: "nickname"})
	}
	return l.conn.do(ctx, msrp.MethodNICKNAME, []*msrp.Message{req})
}

// cpimDisplay is the display name of our CPIM From: the nickname in
// effect, else Options.DisplayName; none with Options.Privacy (the switch
// would drop it anyway with the identity it hides, RFC 7701 §5.2), nor one
// that cannot be written as a CPIM display name.
func (s *Session) cpimDisplay() string {
	if s.cfg.privacy {
		return ""
	}
	d := s.cfg.display
	if n := s.nick.Load(); n != nil && *n != "" {
		d = *n
	}
	if !utf8.ValidString(d) || strings.ContainsFunc(d, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	return d
}

// Messages returns the channel of the messages received from the switch,
// complete (chunks reassembled) and in arrival order; the same channel on
// every call. It is buffered (Options.MessageBuffer): the MSRP read loop
// never waits for the application, so a message that finds the buffer
// full is dropped (the switch has had its 200) and counted by Dropped.
// The channel is closed right after Done, so when a range over it ends,
// Err already tells why the Session ended; messages still buffered can be
// read after the close.
func (s *Session) Messages() <-chan Message { return s.msgs }

// Dropped returns how many complete messages were dropped because the
// Messages channel was full.
func (s *Session) Dropped() uint64 { return s.dropped.Load() }

// incoming is the receiving side of a leg: reassembly of chunked
// messages. It is used by the leg's MSRP read goroutine only.
type incoming struct {
	reasm *msrp.Reassembler
	seq   uint64
	held  map[string]uint64 // Message-ID of an incomplete message → order of its first chunk
}

// handleSend answers a SEND addressed to us (on the read goroutine; it
// never blocks): 200 for a bodiless SEND (a keep-alive) and for a chunk of
// an incomplete message; 415 when the Content-Type is not message/cpim;
// 413 when the message exceeds Options.MaxMessageSize (it is dropped);
// 400 for a bad Byte-Range or Message-ID, and for a complete message that
// is not a CPIM object with a From and a To. A "#" chunk drops its
// message (200). A complete message is delivered on the Messages channel,
// or dropped and counted when it is full.
func (l *leg) handleSend(m *msrp.Message) int {
	s := l.s
	if !m.HasBody() {
		return msrp.StatusOK
	}
	if !isCPIM(m.ContentType()) {
		return msrp.StatusUnsupportedMedia
	}
	in := &l.in
	id := m.MessageID()
	body, complete, err := in.reasm.Add(m)
	if errors.Is(err, msrp.ErrTooManyMessages) {
		// Incomplete messages whose sender vanished are never finished:
		// make room by dropping the oldest.
		in.dropOldest()
		body, complete, err = in.reasm.Add(m)
	}
	switch {
	case errors.Is(err, msrp.ErrAborted):
		delete(in.held, id)
		return msrp.StatusOK
	case errors.Is(err, msrp.ErrMessageTooLarge):
		delete(in.held, id)
		s.log.Debug("incoming message too large", "message-id", id, "max", s.cfg.maxMessage)
		return msrp.StatusStopSending
	case err != nil: // a bad Byte-Range: the message cannot be put together
		in.reasm.Drop(id)
		delete(in.held, id)
		return msrp.StatusBadRequest
	case !complete:
		if _, ok := in.held[id]; !ok {
			in.seq++
			in.held[id] = in.seq
		}
		return msrp.StatusOK
	}
	delete(in.held, id)
	if len(body) > 0 && len(m.Body) > 0 && &body[0] == &m.Body[0] {
		body = slices.Clone(body) // m.Body is the Reader's buffer
	}
	msg, err := s.parseIncoming(body, id)
	if err != nil {
		s.log.Debug("incoming message refused", "message-id", id, "error", err)
		return msrp.StatusBadRequest
	}
	select {
	case s.msgs <- msg:
	default:
		s.dropped.Add(1)
		s.log.Debug("Messages channel full; message dropped", "message-id", id)
	}
	return msrp.StatusOK
}

// dropOldest forgets the incomplete message whose first chunk came first.
func (in *incoming) dropOldest() {
	oldest, first := "", uint64(0)
	for id, seq := range in.held {
		if oldest == "" || seq < first {
			oldest, first = id, seq
		}
	}
	if oldest != "" {
		in.reasm.Drop(oldest)
		delete(in.held, oldest)
	}
}

// parseIncoming makes a Message of a complete CPIM object, which it keeps
// (Raw, Body alias it). Private and System follow RFC 7701 §6.2 and
// SPEC §1.6: a To other than the room URI makes it private; a From equal
// to the room URI makes it the room's own notice.
func (s *Session) parseIncoming(body []byte, messageID string) (Message, error) {
	c, err := cpim.Parse(body)
	if err != nil {
		return Message{}, err
	}
	from, err := c.From()
	if err != nil {
		return Message{}, err
	}
	to, err := c.To()
	if err != nil {
		return Message{}, err
	}
	msg := Message{
		From:        from.URI,
		FromDisplay: from.DisplayName,
		To:          make([]string, len(to)),
		Private:     true,
		System:      s.isRoom(from.URI),
		ContentType: c.ContentType(),
		Body:        c.Body,
		MessageID:   messageID,
		Raw:         body,
	}
	for i, a := range to {
		msg.To[i] = a.URI
		if s.isRoom(a.URI) {
			msg.Private = false
		}
	}
	if c.Get("DateTime") != "" {
		msg.DateTime, _ = c.DateTime() // unparsable: left zero
	}
	msg.History = historyTime(c)
	return msg, nil
}

// historyTime is the time in c's history header, if c declares parleyd's
// history namespace and carries one; zero otherwise.
func historyTime(c *cpim.Message) time.Time {
	ns, err := c.NS()
	if err != nil {
		return time.Time{}
	}
	for _, n := range ns {
		if n.URI != HistoryNamespace || n.Prefix == "" {
			continue
		}
		if v := c.Get(n.Prefix + ".History"); v != "" {
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// cpimURI reports whether u can be written as a CPIM address, "<" u ">".
func cpimURI(u string) bool {
	a, err := cpim.ParseAddress("<" + u + ">")
	return err == nil && a.URI == u
}

// validContentType reports whether ct is a media type that can be written
// as the encapsulated Content-Type.
func validContentType(ct string) bool {
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	mt, _, err := mime.ParseMediaType(ct)
	typ, sub, ok := strings.Cut(mt, "/")
	return err == nil && ok && typ != "" && sub != ""
}

// isCPIM reports whether an MSRP Content-Type value is message/cpim.
func isCPIM(ct string) bool {
	t, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(t), cpimType)
}

// isRoom reports whether u names the room we joined: equal as a SIP URI, or
// the same user at the same host on another port (cpim.SameUserHost). A
// focus listening on several transports is one room under several ports
// (parleyd's UDP and TCP ports may differ), and a regular message carries
// the room URI as its sender dialled it (RFC 7701 §6.1: unmodified).
func (s *Session) isRoom(u string) bool {
	if cpim.URIEqual(u, s.room) || cpim.SameUserHost(u, s.room) {
		return true
	}
	if c := s.canonical.Load(); c != nil && cpim.SameUserHost(u, *c) {
		return true
	}
	if us := s.confURIs.Load(); us != nil {
		for _, x := range *us {
			if cpim.SameUserHost(u, x) {
				return true
			}
		}
	}
	return false
}
