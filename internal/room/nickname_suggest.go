package room

import (
	"strconv"
	"unicode/utf8"
)

// suggestBatch is how many candidates Suggest prepares (PRECIS, outside
// the lock) before checking them under one lock.
const suggestBatch = 8

// suggestSuffixes are what Suggest appends to a nickname, in order:
// "2" … "99", then "_1" … "_99". Deterministic, so that the same table
// gives the same suggestions.
var suggestSuffixes = func() []string {
	s := make([]string, 0, 98+99)
	for i := 2; i <= 99; i++ {
		s = append(s, strconv.Itoa(i))
	}
	for i := 1; i <= 99; i++ {
		s = append(s, "_"+strconv.Itoa(i))
	}
	return s
}()

// Suggest returns up to want alternatives to nick that p could take in the
// room roomName now under pol (draft-niemi-00 §4.3.2.3: the focus answers a
// nickname in use with available ones). Each is nick in enforced form
// (RFC 8266) with a suffix from "2" to "99", then "_1" to "_99", cut short
// to fit pol's length limit; each is a valid nickname, not reserved, not
// held or quarantined by another identity where pol.Scope would collide, and
// not p's own nickname. They are in that order, so the result depends only
// on the table. It is nil when nick is not a valid nickname, when pol does
// not allow nicknames, or when want ≤ 0.
//
// Nothing is reserved for p: another participant may take a suggestion
// before p asks for it, and Request decides then. Quarantines whose end has
// passed count as still running until the next Request or Release (Suggest
// reads no clock).
func (n *Nicknames) Suggest(roomName string, p *Participant, nick string, pol NickPolicy, want int) []string {
	if !pol.Allowed || want <= 0 {
		return nil
	}
	base, _, res := enforce(nick, &pol)
	if res.Code != 0 {
		return nil
	}
	limit := pol.maxBytes()
	out := make([]string, 0, want)
	seen := make(map[string]bool, want)
	type candidate struct{ display, key string }
	batch := make([]candidate, 0, suggestBatch)
	for i := 0; i < len(suggestSuffixes) && len(out) < want; {
		batch = batch[:0]
		for ; i < len(suggestSuffixes) && len(batch) < suggestBatch; i++ {
			d, k, r := prepare(fit(base, suggestSuffixes[i], limit), &pol)
			if r.Code == 0 && !seen[k] {
				seen[k] = true
				batch = append(batch, candidate{d, k})
			}
		}
		n.mu.Lock()
		own := ""
		if h := n.held[p.ID]; h != nil && h.c.room == roomName {
			own = h.c.key
		}
		for _, c := range batch {
			if len(out) < want && c.key != own && !n.conflict(roomName, c.key, p.URI, pol.Scope) {
				out = append(out, c.display)
			}
		}
		n.mu.Unlock()
	}
	return out
}

// fit appends suffix to base, cutting base at a character boundary so that
// the result is at most limit octets.
func fit(base, suffix string, limit int) string {
	if len(base)+len(suffix) <= limit {
		return base + suffix
	}
	cut := max(limit-len(suffix), 0)
	for cut > 0 && !utf8.RuneStart(base[cut]) {
		cut--
	}
	return base[:cut] + suffix
}
