package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// authorized reports whether r may be served: no token is configured, r
// is a GET (or HEAD) of /healthz or /readyz, or it carries the token as
// "Authorization: Bearer <token>". The comparison takes the same time
// whatever the token given (both are hashed first, so not even the
// length leaks).
func (s *Server) authorized(r *http.Request) bool {
	if s.token == nil {
		return true
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(r.URL.Path == "/healthz" || r.URL.Path == "/readyz") {
		return true
	}
	given, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		return false
	}
	want := sha256.Sum256(s.token)
	got := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

// bearerToken extracts the token of an Authorization header value
// (RFC 6750 §2.1; the scheme is case-insensitive).
func bearerToken(h string) (string, bool) {
	const scheme = "bearer "
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	t := strings.TrimSpace(h[len(scheme):])
	return t, t != ""
}
