package focus

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/parley-im/parley/confinfo"
	"github.com/parley-im/parley/internal/room"
)

// NicknameObserver hears that a participant's nickname changed through a
// draft-niemi-00 nickname-info offer (nick is "" when it was removed): the
// conference event package shows it (RFC 7701 §7.4). The Roster may
// implement it; it is called without focus locks held and must not block.
// The switch reports nicknames taken by MSRP NICKNAME itself.
type NicknameObserver interface {
	NicknameChanged(rm *room.Room, p *room.Participant, nick string)
}

// suggestions is how many available alternatives an answer offers for a
// nickname in use (draft-niemi-00 §4.3.2.3 shows two).
const suggestions = 3

// errStaleOffer: the offer is older than our last answer on the dialog.
var errStaleOffer = errors.New("stale nickname-info offer")

// nickState is one dialog's nickname offer/answer state: the version is
// scoped per participant and focus (draft-niemi-00 §4.3.2.1), which for us
// is per dialog.
type nickState struct {
	mu       sync.Mutex // serializes the dialog's offers, from INVITE, re-INVITE, INFO or MESSAGE
	answered bool       // an answer was sent
	version  uint64     // its version
	id       string     // id of the nickname last confirmed, reused while it stays in effect
	nick     string     // that nickname (enforced form)
}

// answerNicknames decides a nickname-info offer (already checked with
// ValidateOffer) of participant p in rm on dialog d, and returns the answer
// and whether p's nickname changed (the caller tells the roster, outside
// any lock, with nicknameChanged). The only error is errStaleOffer.
//
// The answer has version offer+1, state full, entity p.URI (the URI the
// room knows p by: its anonymous URI if it asked for privacy). The offered
// nicknames are tried in order with room.Nicknames.Request under the
// room's policy until one is taken:
//   - taken: confirmed, with its enforced form as display-name and its IM
//     URI (Nicknames.URIOf) as uri;
//   - 425 (in use or reserved): denied, reason in-use;
//   - 403 (nicknames off in the room), 424 (not a nickname): denied, reason
//     policy; and so is every nickname after the one taken: a participant
//     has one nickname.
//
// When none was taken and one was in use, up to three alternatives free
// for p follow as state "available" with ids of ours (the draft's
// examples; not in its schema), and the nickname p still holds (RFC 7701
// §7.2: a failed change keeps it), if any, is listed as confirmed, the
// document being the full state. An offer without nicknames removes p's
// nickname and is answered with none. Denied nicknames carry no
// display-name, as in the draft's example.
func (f *Focus) answerNicknames(d *dialog, rm *room.Room, p *room.Participant, offer *confinfo.NicknameInfo) (*confinfo.NicknameInfo, bool, error) {
	st := &d.nick
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.checkLocked(offer.Version); err != nil {
		return nil, false, err
	}
	ans := &confinfo.NicknameInfo{Version: offer.Version + 1, State: confinfo.StateFull, Entity: p.URI}
	ids := make(map[string]bool, len(offer.Nicknames)+suggestions+1)
	for _, nn := range offer.Nicknames {
		ids[nn.ID] = true
	}
	nt := f.cfg.Nicknames
	pol := rm.Policy().Nick
	pol.Allowed = rm.Policy().Nicknames
	now := time.Now()
	changed := false

	if len(offer.Nicknames) == 0 {
		if nt != nil {
			res := nt.Request(rm.Name, p, "", pol, now)
			changed = res.Code == 200 && res.Changed
		}
		st.id, st.nick = "", ""
		st.answered, st.version = true, ans.Version
		return ans, changed, nil
	}

	taken, inUse := false, ""
	for _, nn := range offer.Nicknames {
		out := confinfo.Nickname{ID: nn.ID, State: confinfo.NicknameDenied, Reason: confinfo.ReasonPolicy}
		if !taken && nt != nil {
			switch res := nt.Request(rm.Name, p, nn.DisplayName, pol, now); res.Code {
			case 200:
				taken, changed = true, res.Changed
				out = confinfo.Nickname{ID: nn.ID, State: confinfo.NicknameConfirmed, DisplayName: res.Nickname, URI: nt.URIOf(p)}
				st.id, st.nick = nn.ID, res.Nickname
			case 425:
				out.Reason = confinfo.ReasonInUse
				if inUse == "" {
					inUse = nn.DisplayName
				}
			}
		}
		ans.Nicknames = append(ans.Nicknames, out)
	}
	if !taken && nt != nil {
		if inUse != "" {
			for _, s := range nt.Suggest(rm.Name, p, inUse, pol, suggestions) {
				ans.Nicknames = append(ans.Nicknames, confinfo.Nickname{ID: newNickID(ids), State: confinfo.NicknameAvailable, DisplayName: s})
			}
		}
		if cur := nt.NicknameOf(p); cur != "" {
			id := st.id
			if id == "" || st.nick != cur || ids[id] {
				id = newNickID(ids) // taken by MSRP NICKNAME, or its id now names another nickname
			}
			ids[id] = true
			ans.Nicknames = append(ans.Nicknames, confinfo.Nickname{ID: id, State: confinfo.NicknameConfirmed, DisplayName: cur, URI: nt.URIOf(p)})
			st.id, st.nick = id, cur
		} else {
			st.id, st.nick = "", ""
		}
	}
	st.answered, st.version = true, ans.Version
	return ans, changed, nil
}

// check returns errStaleOffer when an offer of the given version is older
// than our last answer: the draft has each new document based on the last
// one add one to its version, so an offer below our answer's version was
// made before the participant saw it. An offer that repeats our version is
// accepted (a participant that did not count). The version must also leave
// room for our answer's.
func (st *nickState) check(version uint64) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.checkLocked(version)
}

func (st *nickState) checkLocked(version uint64) error {
	switch {
	case version == math.MaxUint64:
		return fmt.Errorf("%w: version %d leaves no room for the answer's", errStaleOffer, version)
	case st.answered && version < st.version:
		return fmt.Errorf("%w: version %d, our last answer was %d", errStaleOffer, version, st.version)
	}
	return nil
}

// nicknameChanged tells the roster p's nickname changed, if it listens.
// It reads the nickname now, so that of two racing changes the last report
// carries the nickname in effect.
func (f *Focus) nicknameChanged(rm *room.Room, p *room.Participant) {
	o, ok := f.cfg.Roster.(NicknameObserver)
	if !ok || f.cfg.Nicknames == nil {
		return
	}
	o.NicknameChanged(rm, p, f.cfg.Nicknames.NicknameOf(p))
}

// nicknameBody marshals a nickname-info answer for a SIP body: without the
// indentation between tags (whitespace the schema gives no meaning), and
// with only the first keep of its "available" suggestions.
func nicknameBody(ans *confinfo.NicknameInfo, keep int) ([]byte, error) {
	if keep < suggestionCount(ans) {
		trimmed := *ans
		trimmed.Nicknames = nil
		for _, n := range ans.Nicknames {
			if n.State == confinfo.NicknameAvailable {
				if keep == 0 {
					continue
				}
				keep--
			}
			trimmed.Nicknames = append(trimmed.Nicknames, n)
		}
		ans = &trimmed
	}
	doc, err := ans.Marshal()
	if err != nil {
		return nil, err
	}
	return squeezeXML(doc), nil
}

// squeezeXML removes the line breaks and indentation between tags of a
// document confinfo wrote ('>', newline, spaces, '<'). Text content never
// matches: a newline in text would follow no '>' the writer puts there, and
// nicknames have no control characters (RFC 8266).
func squeezeXML(doc []byte) []byte {
	out := doc[:0:0]
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if c == '\n' && i > 0 && doc[i-1] == '>' {
			j := i + 1
			for j < len(doc) && doc[j] == ' ' {
				j++
			}
			if j < len(doc) && doc[j] == '<' {
				i = j - 1
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// suggestionCount is the number of "available" nicknames in ans.
func suggestionCount(ans *confinfo.NicknameInfo) int {
	n := 0
	for _, nn := range ans.Nicknames {
		if nn.State == confinfo.NicknameAvailable {
			n++
		}
	}
	return n
}

// newNickID returns a fresh nickname id (8 characters, like the draft's
// "d82ms938") not in ids, and adds it there.
func newNickID(ids map[string]bool) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for {
		var b [8]byte
		rand.Read(b[:])
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		if id := string(b[:]); !ids[id] {
			ids[id] = true
			return id
		}
	}
}
