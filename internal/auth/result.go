package auth

import "strconv"

// Result is what Verify found. Callers branch on it: OK admits; Stale
// re-challenges with stale=true; Malformed is a 400; UnknownUser and
// WrongPassword are failures to count (Throttle) and answer 403 or a new
// challenge; WrongRealm, UnknownNonce and Replayed re-challenge.
type Result int

const (
	// OK: the credentials are good, and the nonce count was recorded.
	OK Result = iota
	// Malformed: a missing field, a bad nc or cnonce, a qop other than
	// auth, nc or cnonce without qop, an unsupported algorithm (-sess
	// included), a response that is not a digest of the algorithm's size.
	Malformed
	// WrongRealm: the realm is not ours.
	WrongRealm
	// UnknownNonce: a nonce we did not issue (bad HMAC tag, undecodable),
	// for instance one from before a restart with a random key.
	UnknownNonce
	// Stale: a nonce of ours, with a good response, but older than
	// NonceLifetime or no longer remembered (evicted): re-challenge with
	// stale=true.
	Stale
	// Replayed: the nc is not greater than the highest already accepted
	// for this nonce, or a nonce used without qop is used again.
	Replayed
	// UnknownUser: the ha1 lookup found no such user, or no hash of the
	// algorithm for it.
	UnknownUser
	// WrongPassword: the response does not match.
	WrongPassword
)

var resultNames = [...]string{"OK", "Malformed", "WrongRealm", "UnknownNonce", "Stale", "Replayed", "UnknownUser", "WrongPassword"}

func (r Result) String() string {
	if r >= 0 && int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}
