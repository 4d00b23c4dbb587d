package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// SIP digest authentication as a UAC (RFC 3261 §22.2, RFC 8760), for a
// participant that is an account of the server (Options.Password): a
// request answered 401 (or 407) is sent again, once, with credentials for
// the challenge; later requests answer the same challenge again with the
// next nonce count, pre-emptively (RFC 3261 §22.1 allows it), until the
// focus challenges anew (a stale nonce). The computations are
// github.com/icholy/digest's.

// credentials are a Session's account credentials and the challenge it
// last answered. Safe for concurrent use.
type credentials struct {
	user, password string

	mu   sync.Mutex
	chal *digest.Challenge // the challenge last answered; nil before any
	nc   int               // the nonce count last used with it
	hdr  string            // "Authorization" or "Proxy-Authorization"
}

// newCredentials returns the credentials of from (its user part) with
// password, or nil without a password.
func newCredentials(from sip.Uri, password string) *credentials {
	if password == "" {
		return nil
	}
	return &credentials{user: from.User, password: password}
}

// errNoChallenge: a 401 or 407 whose challenges parley cannot answer.
var errNoChallenge = errors.New("client: no digest challenge this client can answer (SHA-256 or MD5, qop auth)")

// challenged reports whether res asks for credentials (401 or 407).
func challenged(res *sip.Response) bool {
	return res != nil && (res.StatusCode == 401 || res.StatusCode == 407)
}

// answer records the challenge of res (a 401 or 407) and adds to req, a
// new request to send instead of the challenged one, the credentials that
// answer it.
func (c *credentials) answer(req *sip.Request, res *sip.Response) error {
	if err := c.learn(res); err != nil {
		return err
	}
	return c.add(req)
}

// learn records the challenge of res (a 401 or 407): the next add answers
// it. It prefers SHA-256 to MD5 (RFC 8760), whatever the order of the
// challenges.
func (c *credentials) learn(res *sip.Response) error {
	hname, aname := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		hname, aname = "Proxy-Authenticate", "Proxy-Authorization"
	}
	var best *digest.Challenge
	for _, h := range res.GetHeaders(hname) {
		ch, err := digest.ParseChallenge(h.Value())
		if err != nil || !digest.CanDigest(ch) || (len(ch.QOP) > 0 && !ch.SupportsQOP("auth")) {
			continue
		}
		switch strings.ToUpper(ch.Algorithm) {
		case "SHA-256":
			if best == nil || !strings.EqualFold(best.Algorithm, "SHA-256") {
				best = ch
			}
		case "", "MD5":
			if best == nil {
				best = ch
			}
		}
	}
	if best == nil {
		return errNoChallenge
	}
	if len(best.QOP) > 0 {
		best.QOP = []string{"auth"} // never auth-int: the body is not hashed
	}
	c.mu.Lock()
	c.chal, c.nc, c.hdr = best, 0, aname
	c.mu.Unlock()
	return nil
}

// add puts credentials for the challenge last answered in req, with the
// next nonce count. Without one it adds nothing.
func (c *credentials) add(req *sip.Request) error {
	c.mu.Lock()
	if c.chal == nil {
		c.mu.Unlock()
		return nil
	}
	c.nc++
	chal, nc, hdr := c.chal, c.nc, c.hdr
	c.mu.Unlock()
	cred, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: req.Recipient.String(),
		Username: c.user, Password: c.password, Count: nc})
	if err != nil {
		return fmt.Errorf("client: digest: %w", err)
	}
	req.RemoveHeader(hdr)
	req.AppendHeader(sip.NewHeader(hdr, cred.String()))
	return nil
}

// doAuth sends the non-INVITE request build makes and returns its final
// response; challenged (401, 407) and with credentials, it sends a new
// one (build again: the next CSeq) with them, once.
func (l *leg) doAuth(ctx context.Context, build func() *sip.Request) (*sip.Response, error) {
	creds := l.s.cfg.creds
	req := build()
	if creds != nil {
		if err := creds.add(req); err != nil {
			return nil, err
		}
	}
	res, err := l.sip.do(ctx, req)
	if err != nil || !challenged(res) || creds == nil {
		return res, err
	}
	again := build()
	if err := creds.answer(again, res); err != nil {
		return res, nil // the 401 stands
	}
	return l.sip.do(ctx, again)
}
