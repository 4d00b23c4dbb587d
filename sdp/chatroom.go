package sdp

import "strings"

// Chat-room tokens of RFC 7701 §8.
const (
	TokenNickname        = "nickname"
	TokenPrivateMessages = "private-messages"
	// tokenNicknames is the "nicknames" spelling of RFC 7701's prose,
	// accepted as a synonym of "nickname" (SPEC §14 item 2).
	tokenNicknames = "nicknames"
)

// Chatroom is the value of the RFC 7701 §8 a=chatroom attribute: the
// chat-room capabilities an endpoint declares. A present attribute without
// tokens means the endpoint supports the chat-room procedures but neither
// nicknames nor private messages.
type Chatroom struct {
	Nickname        bool     // "nickname" (or "nicknames"): RFC 7701 §7 nicknames
	PrivateMessages bool     // "private-messages": RFC 7701 §6.2
	Other           []string // other tokens (e.g. "com.ag-projects.screen-sharing") in order; nil if none
}

// ParseChatroom parses the tokens of an a=chatroom value, separated by
// spaces or tabs. The standard tokens are recognised case-insensitively and
// "nicknames" counts as "nickname". A token may appear only once (RFC 7701
// §8), but repeats are tolerated: they are dropped, and Other keeps the
// first spelling of each token (compared case-insensitively) in order.
// Fields holding control characters are not tokens and are dropped.
func ParseChatroom(v string) Chatroom {
	var c Chatroom
	for _, tok := range fields(v) {
		switch {
		case !validChatToken(tok):
		case strings.EqualFold(tok, TokenNickname), strings.EqualFold(tok, tokenNicknames):
			c.Nickname = true
		case strings.EqualFold(tok, TokenPrivateMessages):
			c.PrivateMessages = true
		case !containsFold(c.Other, tok):
			c.Other = append(c.Other, tok)
		}
	}
	return c
}

// Tokens returns the tokens to write: "nickname", "private-messages", then
// Other in order, without empty strings, strings with blanks or control
// characters, spellings of the standard tokens, or repeats.
func (c Chatroom) Tokens() []string {
	var toks []string
	if c.Nickname {
		toks = append(toks, TokenNickname)
	}
	if c.PrivateMessages {
		toks = append(toks, TokenPrivateMessages)
	}
	for _, tok := range c.Other {
		if !validChatToken(tok) || containsFold(toks, tok) ||
			strings.EqualFold(tok, TokenNickname) || strings.EqualFold(tok, tokenNicknames) ||
			strings.EqualFold(tok, TokenPrivateMessages) {
			continue
		}
		toks = append(toks, tok)
	}
	return toks
}

// String returns the attribute value: the Tokens separated by single spaces.
func (c Chatroom) String() string { return strings.Join(c.Tokens(), " ") }

// Chatroom returns the capabilities declared by the first a=chatroom
// attribute and whether there is one at all.
func (m *Media) Chatroom() (Chatroom, bool) {
	v, ok := m.Attr(AttrChatroom)
	if !ok {
		return Chatroom{}, false
	}
	return ParseChatroom(v), true
}

// SetChatroom replaces any a=chatroom attribute by "a=chatroom" (no
// tokens) or "a=chatroom:<tokens>" (see Tokens). Remove it with
// DelAttr(AttrChatroom).
func (m *Media) SetChatroom(c Chatroom) {
	if v := c.String(); v != "" {
		m.SetAttr(AttrChatroom, v)
	} else {
		m.SetProperty(AttrChatroom)
	}
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// validChatToken reports whether s may be written as a chat-token: not
// empty, no blanks, no control characters. Unknown tokens are only carried,
// so the RFC 3261 token alphabet is not enforced.
func validChatToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
