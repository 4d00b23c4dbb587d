package switchboard

import (
	"strings"

	"github.com/parley-im/parley/msrp"
)

// The reference model of TestPropertyRouting: what the switch must do with
// each request, computed from the rules of SPEC §1.6, §1.7, §1.10, §14
// items 4 and 7, §14A.2 and §14A.3 (not from the switch's code). It knows
// the room's sessions and, per sending session, the chunked messages in
// progress; for every chunk it returns the status the sender must get and
// appends the copies each recipient session must receive.

// propSession is one MSRP session of the room as the model sees it.
type propSession struct {
	idx     int
	uri     string
	private bool     // chatroom-aware with the private-messages token
	wrapped []string // accept-wrapped-types; nil: none signalled (everything goes)
	left    bool
}

// propChunk is one chunk as the sender numbers it.
type propChunk struct {
	start, end, total int64 // total: msrp.Unknown for "*"
	flag              byte
}

func (c propChunk) byteRange() string {
	return msrp.ByteRange{Start: c.start, End: c.end, Total: c.total}.String()
}

// propState is where a message stands at the switch.
type propState uint8

const (
	propNew       propState = iota // nothing sent yet
	propGathering                  // first chunks held: CPIM headers incomplete (RFC 7701 §9.5)
	propRouted                     // recipients chosen; later chunks follow them
	propRefused                    // refused: later chunks are 413
	propDone                       // finished or aborted
)

// propMsg is one message of the run: what the sender sends, and the
// model's state of it.
type propMsg struct {
	tag    string // unique; in the CPIM Subject, to recognise copies
	sender int
	mid    string // the sender's Message-ID
	ctype  string // MSRP Content-Type
	body   []byte
	offset int    // length of the CPIM and MIME header blocks (blank lines included)
	to     string // the CPIM To
	bad    string // "", "from" (From not the sender), "twoTo", "type" (not message/cpim)
	inner  string // the wrapped Content-Type
	sr     bool   // Success-Report: yes
	chunks []propChunk
	next   int // next chunk to send

	state    propState
	gathered int64 // octets held while gathering (or received when routed at once)
	total    int64 // latest known total (sender's numbering)
	rcpts    []int // recipient sessions chosen at routing
	sent     int64 // octets relayed so far (copies' numbering)
}

// propCopy is one chunk a recipient session must receive.
type propCopy struct {
	tag  string
	br   string
	flag byte
	body []byte
	// unordered: one of the aborts of a sender's messages when it leaves,
	// which go out in no particular order among themselves.
	unordered bool
}

// propReport is a success REPORT the sender must receive.
type propReport struct {
	mid string
	br  string
}

type propModel struct {
	roomURI string
	sess    []*propSession
	// copies[[2]int{recipient, sender}]: the chunks the recipient session
	// must receive from that sending session, in order.
	copies  map[[2]int][]propCopy
	reports map[int][]propReport

	// Nicknames (SPEC §14A.3), keyed on the compare key: the identity (URI
	// key) holding it and the sessions using it.
	nickOf     map[int]string
	nickURI    map[string]string
	nickUsers  map[string]map[int]bool
	nickReserv map[string]bool
}

func newPropModel(roomURI string) *propModel {
	return &propModel{
		roomURI:    roomURI,
		copies:     make(map[[2]int][]propCopy),
		reports:    make(map[int][]propReport),
		nickOf:     make(map[int]string),
		nickURI:    make(map[string]string),
		nickUsers:  make(map[string]map[int]bool),
		nickReserv: map[string]bool{"admin": true},
	}
}

// propURIKey is the model's SIP URI comparison for the URIs the test
// generates (sip:user@host[;params]): user exact, host case-insensitive,
// parameters (only ;transport here) ignored (RFC 3261 §19.1.4, SPEC §14
// item 9).
func propURIKey(u string) string {
	scheme, rest, ok := strings.Cut(u, ":")
	if !ok || !strings.EqualFold(scheme, "sip") {
		return "?" + u
	}
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return "?" + u
	}
	return rest[:at] + "@" + strings.ToLower(rest[at+1:])
}

// accepts: RFC 7701 §6.1, the recipient's accept-wrapped-types (plus its
// accept-types, message/cpim here) admit the wrapped type.
func (s *propSession) accepts(inner string) bool {
	if s.wrapped == nil {
		return true
	}
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(inner, ";", 2)[0]))
	if mt == "message/cpim" {
		return true
	}
	typ, _, _ := strings.Cut(mt, "/")
	for _, w := range s.wrapped {
		switch {
		case w == "*", w == mt, strings.HasSuffix(w, "/*") && strings.TrimSuffix(w, "/*") == typ:
			return true
		}
	}
	return false
}

// decide is the routing of a message whose headers are complete (SPEC §14
// item 4, §14A.2): the refusal code, or 0 and the recipient sessions.
func (md *propModel) decide(pm *propMsg) (int, []int) {
	if pm.bad == "from" || pm.bad == "twoTo" {
		return msrp.StatusForbidden, nil
	}
	sender := md.sess[pm.sender]
	var rcpts []int
	if propURIKey(pm.to) == propURIKey(md.roomURI) {
		// Regular: every other session, not the sender's other devices
		// (SPEC §14 item 7), minus those refusing the wrapped type.
		for _, s := range md.sess {
			if s.left || s.idx == pm.sender || propURIKey(s.uri) == propURIKey(sender.uri) {
				continue
			}
			if s.accepts(pm.inner) {
				rcpts = append(rcpts, s.idx)
			}
		}
		return 0, rcpts
	}
	named, capable := false, false
	for _, s := range md.sess {
		if s.left || propURIKey(s.uri) != propURIKey(pm.to) {
			continue
		}
		named = true
		if !s.private {
			continue
		}
		capable = true
		if s.idx != pm.sender && s.accepts(pm.inner) {
			rcpts = append(rcpts, s.idx)
		}
	}
	switch {
	case !named:
		return msrp.StatusRecipientNotFound, nil
	case !capable:
		return msrp.StatusPrivateNotSupported, nil
	}
	return 0, rcpts
}

func (md *propModel) deliver(pm *propMsg, c propCopy) {
	for _, r := range pm.rcpts {
		if !md.sess[r].left {
			k := [2]int{r, pm.sender}
			md.copies[k] = append(md.copies[k], c)
		}
	}
}

// chunk is the switch receiving chunk c of pm, with body its octets: the
// status the sender must get. Copies go to md.copies.
func (md *propModel) chunk(pm *propMsg, c propChunk, body []byte) int {
	switch pm.state {
	case propNew:
		if c.start != 1 {
			panic("model: first chunk not at 1")
		}
		if pm.ctype != "message/cpim" {
			pm.state = propRefused
			return msrp.StatusUnsupportedMedia
		}
		if c.flag == msrp.FlagAbort {
			pm.state = propDone
			return msrp.StatusOK
		}
		pm.gathered, pm.total = int64(len(body)), c.total
		if pm.gathered < int64(pm.offset) {
			if c.flag != msrp.FlagContinue {
				pm.state = propDone
				return msrp.StatusBadRequest
			}
			pm.state = propGathering
			return msrp.StatusOK
		}
		return md.route(pm, c.flag)
	case propGathering:
		if c.flag == msrp.FlagAbort {
			pm.state = propDone // nothing relayed yet
			return msrp.StatusOK
		}
		pm.gathered += int64(len(body))
		if c.total != msrp.Unknown {
			pm.total = c.total
		}
		if pm.gathered < int64(pm.offset) {
			if c.flag != msrp.FlagContinue {
				pm.state = propDone
				return msrp.StatusBadRequest
			}
			return msrp.StatusOK
		}
		return md.route(pm, c.flag)
	case propRouted:
		if c.flag == msrp.FlagAbort {
			md.abort(pm, false)
			return msrp.StatusOK
		}
		total := c.total
		if total == msrp.Unknown {
			total = pm.total
		} else {
			pm.total = total
		}
		md.deliver(pm, propCopy{tag: pm.tag, br: msrp.ByteRange{Start: c.start, End: c.end, Total: total}.String(), flag: c.flag, body: body})
		pm.sent = c.end
		if c.flag == msrp.FlagEnd {
			pm.state = propDone
			md.reported(pm, c.end)
		}
		return msrp.StatusOK
	default: // refused, done: the switch does not know the message (any more)
		if c.flag == msrp.FlagAbort {
			return msrp.StatusOK
		}
		return msrp.StatusStopSending
	}
}

// route decides once the headers are complete: the held octets go out as
// one chunk 1-gathered (the sender's numbering: no anonymous senders here).
func (md *propModel) route(pm *propMsg, flag byte) int {
	code, rcpts := md.decide(pm)
	if code != 0 {
		pm.state = propRefused
		return code
	}
	pm.rcpts = rcpts
	br := msrp.ByteRange{Start: 1, End: pm.gathered, Total: pm.total}
	md.deliver(pm, propCopy{tag: pm.tag, br: br.String(), flag: flag, body: pm.body[:pm.gathered]})
	pm.sent = pm.gathered
	if flag == msrp.FlagEnd {
		pm.state = propDone
		md.reported(pm, pm.gathered)
	} else {
		pm.state = propRouted
	}
	return msrp.StatusOK
}

// abort ends a routed message early: every recipient still there gets an
// empty '#' chunk after the octets it has (RFC 4975 §7.1.1).
func (md *propModel) abort(pm *propMsg, unordered bool) {
	if pm.state == propRouted {
		br := msrp.ByteRange{Start: pm.sent + 1, End: pm.sent, Total: msrp.Unknown}
		md.deliver(pm, propCopy{tag: pm.tag, br: br.String(), flag: msrp.FlagAbort, unordered: unordered})
	}
	pm.state = propDone
}

func (md *propModel) reported(pm *propMsg, n int64) {
	if pm.sr {
		md.reports[pm.sender] = append(md.reports[pm.sender], propReport{mid: pm.mid, br: msrp.ByteRange{Start: 1, End: n, Total: n}.String()})
	}
}

// nickname is a NICKNAME from session i (SPEC §14A.3), for the ASCII
// nicknames of the test (compare key: lower case, spaces trimmed). The
// room has no quarantine.
func (md *propModel) nickname(i int, nick string) int {
	if nick == "" {
		md.dropNick(i)
		return msrp.StatusOK
	}
	key := strings.ToLower(strings.TrimSpace(nick))
	switch {
	case key == "":
		return msrp.StatusMalformedNickname
	case md.nickReserv[key]:
		return msrp.StatusNicknameInUse
	case md.nickOf[i] == key:
		return msrp.StatusOK // unchanged or respelt
	}
	if holder, ok := md.nickURI[key]; ok && holder != propURIKey(md.sess[i].uri) {
		return msrp.StatusNicknameInUse
	}
	md.dropNick(i)
	md.nickOf[i] = key
	md.nickURI[key] = propURIKey(md.sess[i].uri)
	if md.nickUsers[key] == nil {
		md.nickUsers[key] = make(map[int]bool)
	}
	md.nickUsers[key][i] = true
	return msrp.StatusOK
}

func (md *propModel) dropNick(i int) {
	key, ok := md.nickOf[i]
	if !ok {
		return
	}
	delete(md.nickOf, i)
	delete(md.nickUsers[key], i)
	if len(md.nickUsers[key]) == 0 {
		delete(md.nickUsers, key)
		delete(md.nickURI, key)
	}
}

// leave: session i is gone; what it was sending is aborted (the switch
// sends the aborts), it receives nothing more, its nickname is released.
func (md *propModel) leave(i int, sending []*propMsg) {
	md.sess[i].left = true
	for _, pm := range sending {
		md.abort(pm, true)
	}
	md.dropNick(i)
}

// expected is how many chunks session r must receive in all.
func (md *propModel) expected(r int) int {
	n := 0
	for k, cs := range md.copies {
		if k[0] == r {
			n += len(cs)
		}
	}
	return n
}
