package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/focus"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/switchboard"
)

// Accounts and digest authentication (issue 17): the store keeps the
// accounts (their passwords only as HA1 digests for the realm
// server.host), the focus challenges with them (focus.DigestAuth).

// storeAccounts is the store as the focus's Accounts. Its lookups are
// answered from the store's in-memory copy of the accounts bucket. An
// account whose hashes were made for another realm (server.host changed
// since) has no usable hash: its password must be set again.
type storeAccounts struct {
	st    *store.Store // nil: no store, no accounts
	realm string
}

func (a storeAccounts) account(username string) (store.Account, bool) {
	if a.st == nil {
		return store.Account{}, false
	}
	return a.st.Account(username)
}

func (a storeAccounts) HA1(username, alg string) (string, bool) {
	acc, ok := a.account(username)
	if !ok || acc.Realm != a.realm {
		return "", false
	}
	h, ok := acc.HA1[alg]
	return h, ok && h != ""
}

func (a storeAccounts) Exists(username string) bool {
	_, ok := a.account(username)
	return ok
}

// nonceLifetime is how long a digest nonce is good for: long enough for a
// client's INVITE and the SUBSCRIBE that follows it to share one.
const nonceLifetime = 5 * time.Minute

// newDigestAuth makes the focus's Authenticator for cfg's host, with the
// accounts of st; names are the SIP TLS connections' certificate names
// (nil when no trusted proxy is named by one).
func newDigestAuth(cfg *config.Config, st *store.Store, names *peerNames) *focus.DigestAuth {
	host := cfg.Server.Host
	var ps []netip.Prefix
	for _, t := range cfg.SIP.TrustedProxies {
		if p, err := config.ParsePrefix(t); err == nil { // validated at load; the others are names
			ps = append(ps, p)
		}
	}
	a := &focus.DigestAuth{
		Host:       host,
		Algorithms: cfg.SIP.DigestAlgorithms,
		Trusted:    ps,
		Accounts:   storeAccounts{st: st, realm: host},
		Digest:     auth.New(auth.Config{Realm: host, NonceLifetime: nonceLifetime}),
		Throttle:   auth.NewThrottle(time.Now),
	}
	if names != nil {
		a.TrustedNames, a.PeerNames = trustedNames(cfg), names.lookup
	}
	return a
}

// storeNicknames is the store as the nickname table's owners and the
// switch's registrar (owned nicknames, issue 17). It reads the Server's
// store when asked: the switch is made before the store is opened, and
// asks only once the server serves.
type storeNicknames struct{ s *Server }

// registerWait bounds the store write of a nickname registration.
const registerWait = 2 * time.Second

func (n storeNicknames) NicknameOwner(key string) (string, bool) {
	if n.s.store == nil {
		return "", false
	}
	r, ok := n.s.store.NicknameOwner(key)
	return r.Account, ok
}

func (n storeNicknames) RegisterNickname(account, nick, key string) error {
	st := n.s.store
	if st == nil {
		return errors.New("no store: nicknames cannot be registered")
	}
	if owner, ok := n.NicknameOwner(key); ok {
		if owner == account {
			return nil
		}
		return switchboard.ErrRegistered
	}
	ctx, cancel := context.WithTimeout(context.Background(), registerWait)
	defer cancel()
	err := st.RegisterNickname(ctx, store.NicknameRegistration{Key: key, Nickname: nick, Account: account})
	if errors.Is(err, store.ErrExists) { // someone else was faster, or this account on another device
		if owner, ok := n.NicknameOwner(key); ok && owner == account {
			return nil
		}
		return switchboard.ErrRegistered
	}
	return err
}

// seedAccounts creates, from the accounts file of cfg, the accounts st
// does not have yet (issue 17); those it has are left as they are. A file
// that cannot be read or holds a bad entry fails the start.
func seedAccounts(cfg *config.Config, st *store.Store, log *slog.Logger) error {
	if cfg.Accounts.File == "" {
		return nil
	}
	seeds, err := config.LoadAccounts(cfg.Accounts.File)
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("accounts file %s: no store to keep the accounts in", cfg.Accounts.File)
	}
	if err := cfg.CheckAccountsFile(); err != nil {
		log.Warn("accounts file", "warning", err)
	}
	realm := cfg.Server.Host
	ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
	defer cancel()
	created := 0
	for _, a := range seeds {
		if _, ok := st.Account(a.Name); ok {
			continue
		}
		ha1 := map[string]string{}
		if a.Password != "" {
			ha1 = auth.HA1s(a.Name, realm, a.Password)
		}
		if a.SHA256 != "" {
			ha1[auth.SHA256] = strings.ToLower(a.SHA256)
		}
		if a.MD5 != "" {
			ha1[auth.MD5] = strings.ToLower(a.MD5)
		}
		err := st.CreateAccount(ctx, store.Account{Username: a.Name, Display: a.Display, Realm: realm, HA1: ha1})
		switch {
		case errors.Is(err, store.ErrExists): // another process was faster
		case err != nil:
			return fmt.Errorf("accounts file %s: account %q: %w", cfg.Accounts.File, a.Name, err)
		default:
			created++
		}
	}
	log.Info("accounts file read", "file", cfg.Accounts.File, "accounts", len(seeds), "created", created)
	return nil
}

// warnOtherRealms logs the accounts whose hashes were made for another
// realm than server.host (the host changed since, or parleyd user was run
// without it): they cannot log in until their password is set again.
func warnOtherRealms(cfg *config.Config, st *store.Store, log *slog.Logger) {
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
	defer cancel()
	as, err := st.Accounts(ctx)
	if err != nil {
		return
	}
	var other []string
	for _, a := range as {
		if a.Realm != cfg.Server.Host {
			other = append(other, a.Username)
		}
	}
	if len(other) > 0 {
		log.Warn("accounts hashed for another realm than server.host cannot log in until their password is set again (parleyd user passwd)",
			"realm", cfg.Server.Host, "accounts", len(other), "first", other[0])
	}
}
