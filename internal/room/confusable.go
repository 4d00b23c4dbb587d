package room

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/text/secure/precis"
)

// Names others can trust (issue 17): two nicknames that look the same are
// the same nickname. A nickname's key — what claims, reservations and
// lookups compare — is its RFC 8266 compare key (width, case and Unicode
// normalization folded), without the characters nobody sees (format
// characters, Unicode category Cf: zero-width spaces and joiners, bidi
// controls), reduced to its Unicode TR39 skeleton (§4: "аlice" with a
// Cyrillic а, "paypa1" and "paypal" share one). So a nickname confusable
// with one in use is refused with 425 as the same one would be, and so is
// one confusable with a reserved word.

// nickKey returns the key of a nickname (any form RFC 8266 accepts).
func nickKey(nick string) (string, error) {
	k, err := precis.Nickname.CompareKey(nick)
	if err != nil {
		return "", err
	}
	return skeletonKey(k), nil
}

// skeletonKey is the TR39 skeleton of a compare key, without invisible
// characters, lower-cased (a skeleton's prototypes may be capitals).
func skeletonKey(k string) string {
	k = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, k)
	return strings.ToLower(confusables.Skeleton(k))
}

// Owned nicknames (issue 17): an account may register nicknames. A
// registered nickname, and every nickname with its key (so every
// look-alike), is refused with 425 to anyone but a participant of the
// owning account, in every room, whatever the rooms' scopes.

// NickOwners says who owns registered nicknames (the store, through the
// server). It must answer from memory: it is asked on every NICKNAME.
type NickOwners interface {
	// NicknameOwner returns the account owning the nickname whose key
	// (NicknameKey) is key, if it is registered.
	NicknameOwner(key string) (account string, ok bool)
}

// WithOwners makes Nicknames refuse registered nicknames to everyone but
// their owners.
func WithOwners(o NickOwners) NicknamesOption {
	return func(n *Nicknames) { n.owners = o }
}

// NicknameKey returns the form a nickname takes once granted (RFC 8266
// enforcement) and its key: two nicknames with one key are the same
// nickname to Nicknames. It fails for what is not a nickname (424).
func NicknameKey(nick string) (display, key string, err error) {
	pol := NickPolicy{}
	display, key, res := enforce(nick, &pol)
	if res.Code != 0 {
		return "", "", fmt.Errorf("room: %q is not a nickname: %s", nick, res.Reason)
	}
	return display, key, nil
}
