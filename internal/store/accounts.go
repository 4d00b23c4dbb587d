package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"
)

// Account is a user account of the server. The store keeps the password
// only as digest hashes (HA1, computed by the caller); it never sees or
// keeps the password itself.
type Account struct {
	// Username is the user part of sip:<username>@<host>, the account's
	// name. It compares case-sensitively as stored ("Alice" is not found
	// as "alice"), but two usernames differing only in ASCII case can
	// never both be accounts (see CreateAccount). Non-empty, at most
	// MaxUsernameBytes octets of UTF-8, without control, format or space
	// characters, '@', ':' or '/'.
	Username string
	// Display is the optional display name (at most 256 octets of UTF-8,
	// no control characters).
	Display string
	// Realm is the realm the hashes were computed for (the server's
	// host); required, at most 255 octets, no control characters, '"' or
	// '\'.
	Realm string
	// HA1 maps a digest algorithm to the account's HA1 for it (RFC 7616,
	// RFC 8760): H(username ":" realm ":" password) in lower-case hex.
	// The algorithms are "MD5" (32 hex digits), "SHA-256" and
	// "SHA-512-256" (64 each); at least one is required. The store keeps
	// the values exactly as given.
	HA1 map[string]string
	// Created is when the account was first stored, Updated when it was
	// last written. The store sets both: the values given to CreateAccount
	// and PutAccount are ignored.
	Created time.Time
	Updated time.Time
}

// MaxUsernameBytes bounds Account.Username, in octets.
const MaxUsernameBytes = 64

// ha1Lengths are the algorithms of Account.HA1 and the length of their
// hex digests.
var ha1Lengths = map[string]int{"MD5": 32, "SHA-256": 64, "SHA-512-256": 64}

// accountRecord is an Account as kept in the accounts bucket, in JSON.
// There is no password field, on purpose.
type accountRecord struct {
	V        int               `json:"v"`
	Username string            `json:"username"`
	Display  string            `json:"display,omitempty"`
	Realm    string            `json:"realm"`
	HA1      map[string]string `json:"ha1"`
	Created  time.Time         `json:"created"`
	Updated  time.Time         `json:"updated"`
}

func (r *accountRecord) account() *Account {
	return &Account{Username: r.Username, Display: r.Display, Realm: r.Realm, HA1: r.HA1, Created: r.Created, Updated: r.Updated}
}

// decodeAccount parses a stored record; key is the key it was found
// under ("" to skip that check).
func decodeAccount(key string, data []byte) (*Account, error) {
	var rec accountRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%w: account record: %w", ErrFormat, err)
	}
	if rec.V != 1 {
		return nil, fmt.Errorf("%w: account record has version %d", ErrFormat, rec.V)
	}
	if err := checkUsername(rec.Username); err != nil {
		return nil, fmt.Errorf("%w: account record: %w", ErrFormat, err)
	}
	if key != "" {
		if k, _ := accountKey(rec.Username); k != key {
			return nil, fmt.Errorf("%w: account record of %q under key %q", ErrFormat, rec.Username, key)
		}
	}
	return rec.account(), nil
}

// checkUsername says why u cannot be a username, if it cannot.
func checkUsername(u string) error {
	if u == "" {
		return fmt.Errorf("%w: empty username", ErrInvalid)
	}
	if len(u) > MaxUsernameBytes {
		return fmt.Errorf("%w: username of %d octets (at most %d)", ErrInvalid, len(u), MaxUsernameBytes)
	}
	if !utf8.ValidString(u) {
		return fmt.Errorf("%w: username %q is not UTF-8", ErrInvalid, u)
	}
	for _, r := range u {
		switch {
		case r == '@' || r == ':' || r == '/':
			return fmt.Errorf("%w: username %q holds %q (no '@', ':' or '/')", ErrInvalid, u, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return fmt.Errorf("%w: username %q holds the control or format character %U", ErrInvalid, u, r)
		case unicode.IsSpace(r):
			return fmt.Errorf("%w: username %q holds a space (%U)", ErrInvalid, u, r)
		}
	}
	return nil
}

// checkAccount says why a cannot be stored, if it cannot.
func checkAccount(a *Account) error {
	if err := checkUsername(a.Username); err != nil {
		return err
	}
	if len(a.Display) > 256 || !utf8.ValidString(a.Display) || strings.ContainsFunc(a.Display, unicode.IsControl) {
		return fmt.Errorf("%w: account %q: display name not UTF-8 of at most 256 octets without control characters", ErrInvalid, a.Username)
	}
	if a.Realm == "" || len(a.Realm) > 255 || !utf8.ValidString(a.Realm) ||
		strings.ContainsFunc(a.Realm, func(r rune) bool { return unicode.IsControl(r) || r == '"' || r == '\\' }) {
		return fmt.Errorf("%w: account %q: realm %q (required, at most 255 octets, no control characters, '\"' or '\\')", ErrInvalid, a.Username, a.Realm)
	}
	if len(a.HA1) == 0 {
		return fmt.Errorf("%w: account %q has no HA1", ErrInvalid, a.Username)
	}
	for alg, h := range a.HA1 {
		n, ok := ha1Lengths[alg]
		if !ok {
			return fmt.Errorf("%w: account %q: unknown digest algorithm %q (MD5, SHA-256, SHA-512-256)", ErrInvalid, a.Username, alg)
		}
		if len(h) != n || strings.ContainsFunc(h, func(r rune) bool { return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') }) {
			return fmt.Errorf("%w: account %q: the %s HA1 is not %d lower-case hex digits", ErrInvalid, a.Username, alg, n)
		}
	}
	return nil
}

// foldUsername lower-cases the ASCII letters of u (only those: "Ä" and
// "ä" stay two names).
func foldUsername(u string) string {
	for i := 0; i < len(u); i++ {
		if 'A' <= u[i] && u[i] <= 'Z' {
			b := []byte(u)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return u
}

// accountKey is the bucket key of username: its ASCII-lower-cased form,
// escaped. Usernames differing only in ASCII case share a key, which is
// how JetStream's compare-and-set keeps them from being two accounts.
func accountKey(username string) (string, error) {
	return escapeKey(foldUsername(username))
}

// accountRecordOf is a's record, to be stored with created and updated.
func accountRecordOf(a *Account, created, updated time.Time) ([]byte, *Account, error) {
	rec := accountRecord{V: 1, Username: a.Username, Display: a.Display, Realm: a.Realm,
		HA1: maps.Clone(a.HA1), Created: created, Updated: updated}
	data, err := json.Marshal(&rec)
	if err != nil {
		return nil, nil, fmt.Errorf("store: account record: %w", err)
	}
	return data, rec.account(), nil
}

// conflict reports a compare-and-set that lost: the key exists, or its
// revision moved.
func conflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// casAttempts bounds the read-then-compare-and-set rounds of PutAccount
// and DeleteAccount against concurrent writers.
const casAttempts = 10

// CreateAccount stores a new account. It fails with ErrExists when the
// username, or one differing from it only in ASCII case, is an account
// already: the write is JetStream's compare-and-set on the key, so of two
// stores racing to create the same (or a case variant) exactly one wins.
// An invalid account fails with ErrInvalid.
func (s *Store) CreateAccount(ctx context.Context, a Account) error {
	if err := checkAccount(&a); err != nil {
		return err
	}
	key, err := accountKey(a.Username)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := s.check(); err != nil {
		return err
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	now := time.Now().UTC()
	data, acc, err := accountRecordOf(&a, now, now)
	if err != nil {
		return err
	}
	rev, err := s.accountsKV.Create(ctx, key, data)
	if conflict(err) {
		if e, err := s.accountsKV.Get(ctx, key); err == nil {
			if old, err := decodeAccount("", e.Value()); err == nil && old.Username != a.Username {
				return fmt.Errorf("%w: account %q (as %q)", ErrExists, a.Username, old.Username)
			}
		}
		return fmt.Errorf("%w: account %q", ErrExists, a.Username)
	}
	if err != nil {
		return fmt.Errorf("store: creating account %q: %w", a.Username, err)
	}
	s.acc.apply(key, rev, acc)
	return nil
}

// PutAccount creates the account or replaces the one of that username
// (its Created is kept), as when its password or display name changes. It
// fails with ErrExists when another account's username differs from it
// only in ASCII case, with ErrInvalid for an invalid account, and with
// ErrFormat when the stored record cannot be read (DeleteAccount removes
// it).
func (s *Store) PutAccount(ctx context.Context, a Account) error {
	if err := checkAccount(&a); err != nil {
		return err
	}
	key, err := accountKey(a.Username)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := s.check(); err != nil {
		return err
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	for range casAttempts {
		now := time.Now().UTC()
		var rev uint64
		var acc *Account
		e, err := s.accountsKV.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			var data []byte
			if data, acc, err = accountRecordOf(&a, now, now); err != nil {
				return err
			}
			rev, err = s.accountsKV.Create(ctx, key, data)
		case err != nil:
			return fmt.Errorf("store: reading account %q: %w", a.Username, err)
		default:
			var old *Account
			if old, err = decodeAccount(key, e.Value()); err != nil {
				return fmt.Errorf("store: account %q: %w", a.Username, err)
			}
			if old.Username != a.Username {
				return fmt.Errorf("%w: account %q (as %q)", ErrExists, a.Username, old.Username)
			}
			var data []byte
			if data, acc, err = accountRecordOf(&a, old.Created, now); err != nil {
				return err
			}
			rev, err = s.accountsKV.Update(ctx, key, data, e.Revision())
		}
		if conflict(err) {
			continue // another writer came between: read again
		}
		if err != nil {
			return fmt.Errorf("store: writing account %q: %w", a.Username, err)
		}
		s.acc.apply(key, rev, acc)
		return nil
	}
	return fmt.Errorf("%w: account %q: too many concurrent writes", ErrUnavailable, a.Username)
}

// DeleteAccount deletes the account of that username (exactly: "alice"
// does not delete "Alice"). It fails with ErrNotFound when there is none.
// Once the account is deleted, it drops the nicknames registered to it
// (DropAccountNicknames): when that fails, the account is deleted all the
// same and the error (wrapping the cause: ErrUnavailable, ErrClosed…)
// says so; DropAccountNicknames drops the rest. A nickname registered
// while the account is being deleted may outlive it: the store does not
// check that a registration's account exists.
func (s *Store) DeleteAccount(ctx context.Context, username string) error {
	if err := checkUsername(username); err != nil {
		return err
	}
	key, err := accountKey(username)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := s.check(); err != nil {
		return err
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	for range casAttempts {
		e, err := s.accountsKV.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("%w: account %q", ErrNotFound, username)
		}
		if err != nil {
			return fmt.Errorf("store: reading account %q: %w", username, err)
		}
		// An unreadable record is deleted too: this is how it goes away
		// (PutAccount refuses to replace it).
		if old, err := decodeAccount(key, e.Value()); err == nil && old.Username != username {
			return fmt.Errorf("%w: account %q (there is %q)", ErrNotFound, username, old.Username)
		}
		err = s.accountsKV.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
		if conflict(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: deleting account %q: %w", username, err)
		}
		s.acc.deleted(key, e.Revision())
		if _, err := s.DropAccountNicknames(ctx, username); err != nil {
			return fmt.Errorf("store: account %q deleted, but not all its nicknames dropped: %w", username, err)
		}
		return nil
	}
	return fmt.Errorf("%w: account %q: too many concurrent writes", ErrUnavailable, username)
}

// Accounts returns every account, sorted by username, as the bucket holds
// them now (not from memory: see Account).
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	var accounts []Account
	err := s.scanBucket(ctx, accountsBucket, func(_ string, seq uint64, data []byte) error {
		a, err := decodeAccount("", data)
		if err != nil {
			return fmt.Errorf("store: account record %d: %w", seq, err)
		}
		accounts = append(accounts, *a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(accounts, func(a, b Account) int { return strings.Compare(a.Username, b.Username) })
	return accounts, nil
}

// Account returns the account of that username (compared exactly, as
// stored), from an in-memory copy of the accounts bucket: it never waits
// for the store. A watcher keeps the copy current: a change made by any
// process sharing the store (another parleyd, the CLI on an external NATS
// server) is seen within milliseconds, and this store's own writes at
// once. Open returns only once the copy holds every stored account. While
// the external server of ModeURL is unreachable, Account answers from
// what it last knew; when the connection is back, the copy is read again
// from the server. The returned HA1 map is the caller's own.
func (s *Store) Account(username string) (Account, bool) {
	p := s.acc.get(username)
	if p == nil {
		return Account{}, false
	}
	a := *p
	a.HA1 = maps.Clone(p.HA1)
	return a, true
}
