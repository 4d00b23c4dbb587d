package auth

import "errors"

// Sentinel errors that callers branch on with errors.Is.
var (
	// ErrMalformed wraps every ParseCredentials error: a value that is not
	// an RFC 3261 §25.1 digest-response (syntax, a duplicate parameter, a
	// missing or empty username, realm, nonce, uri or response).
	ErrMalformed = errors.New("auth: malformed credentials")

	// ErrNotDigest: the credentials use another scheme than Digest (Basic,
	// Bearer, ...). It always comes together with ErrMalformed, so a caller
	// that does not care may test for ErrMalformed alone.
	ErrNotDigest = errors.New("auth: not the Digest scheme")
)
