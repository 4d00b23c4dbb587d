package room

import (
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
