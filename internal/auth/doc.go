// Package auth is the server side of SIP digest authentication: RFC 3261
// §22 (the framework: 401/407 challenges, Authorization and
// Proxy-Authorization credentials), with the computations of RFC 7616
// (HTTP Digest, §3.4) and the algorithms of RFC 8760 (SHA-256 for SIP).
// The caller — the focus — does the SIP plumbing: it reads the header
// fields, compares the digest-uri with the Request-URI, answers, and
// delays its answers to failures (Throttle). This package does the
// computations and keeps the state.
//
// # Challenges
//
// Digest.Challenges gives the values of two WWW-Authenticate (or
// Proxy-Authenticate) header fields, SHA-256 first and MD5 second, in the
// order of preference (RFC 8760 §2.3): RFC 3261 clients only know MD5.
// Both carry the realm, the same fresh nonce, qop="auth" and, when asked,
// stale=true:
//
//	Digest realm="example.com", nonce="...", qop="auth", algorithm=SHA-256
//	Digest realm="example.com", nonce="...", qop="auth", algorithm=MD5
//
// # Accounts
//
// Accounts are stored as HA1 = H(username ":" realm ":" password) in
// lowercase hex (HA1), one per algorithm, never as passwords. Verify asks
// its caller for the one of the algorithm the client chose.
//
// # Responses
//
// With qop=auth (RFC 7616 §3.4.1):
//
//	response = H(HA1 ":" nonce ":" nc ":" cnonce ":" "auth" ":" HA2)
//	HA2      = H(method ":" digest-uri)
//
// Without qop, as RFC 2069 clients do: H(HA1 ":" nonce ":" HA2), and the
// nonce is then good for one request only. qop=auth-int is not offered
// and is refused, as are the -sess algorithms and SHA-512-256.
//
// # Nonces
//
// A nonce is self-validating (nonce.go):
//
//	base64url-nopad( issued[8] || random[12] || HMAC-SHA256(Key, issued || random)[:16] )
//
// issued being the issue time in Unix nanoseconds, big-endian: 48
// characters. Its tag tells a nonce of ours (checked in constant time)
// from anything else (UnknownNonce) without a lookup, and gives its age
// (older than Config.NonceLifetime: Stale). With the default random key,
// nonces die with the process.
//
// # Replays
//
// Every nonce issued is remembered with the highest nonce count (nc)
// accepted with it; a request must bring a higher one (RFC 7616 §3.3 and
// §5.5), else Replayed. The table is bounded by Config.MaxNonces: in a
// ring in issue order, the oldest is evicted when a new one does not fit,
// and the expired ones are dropped from the old end as new ones come. A
// nonce with a good tag and age that is no longer remembered is Stale
// (the client retries with a new challenge), never accepted: a flood of
// challenges degrades to re-challenges, not to accepted replays. Each
// remembered nonce costs at most 90 bytes (a 20-byte ring slot, a 28-byte
// map entry and the map's overhead; 48 to 87 bytes measured,
// TestReplayTableMemory): at most 90 bytes × MaxNonces, 9 MB for the
// default 100,000.
//
// # Throttle
//
// Throttle slows down a source that keeps failing: no delay for 3
// failures, then 250 ms doubling per failure up to 8 s; a source's count
// is forgotten 10 minutes after its last failure or on a success. It
// remembers a bounded number of sources (65,536 by default), evicting the
// one idle longest.
//
// The package is pure: standard library only, no goroutines, no logging,
// no package-level mutable state; its clock is injected (Config.Now,
// NewThrottle).
package auth
