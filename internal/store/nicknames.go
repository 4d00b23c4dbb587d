package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"
)

// NicknameRegistration is a nickname registered to an account: the
// nickname, and every nickname confusable with it, is refused to everyone
// else in every room.
type NicknameRegistration struct {
	// Key is the caller's comparison key of the nickname (the skeleton
	// under which confusable nicknames compare equal), the record's key.
	// The store treats it as opaque: non-empty UTF-8 of at most
	// MaxNicknameKeyBytes octets.
	Key string
	// Nickname is the nickname as registered, for display: non-empty
	// UTF-8 of at most MaxNicknameBytes octets, without control
	// characters.
	Nickname string
	// Account is the owning account's username (as Account.Username).
	Account string
	// Created is when the nickname was registered. The store sets it:
	// the value given to RegisterNickname is ignored.
	Created time.Time
}

// Bounds of a NicknameRegistration, in octets.
const (
	// MaxNicknameKeyBytes bounds NicknameRegistration.Key.
	MaxNicknameKeyBytes = 1024
	// MaxNicknameBytes bounds NicknameRegistration.Nickname: a nickname
	// is at most 1,023 octets (RFC 7701 §7.1).
	MaxNicknameBytes = 1023
)

// nicknameKeyMax bounds a nickname's bucket key: its comparison key
// escaped, every octet of it perhaps. The subjects holding it (the KV's
// $KV.parley-nicknames.<key>, a direct get's request) stay within a
// NATS control line (4 KiB by default).
const nicknameKeyMax = 3 * MaxNicknameKeyBytes

// nicknameValueMax is the nicknames bucket's MaxValueSize: a record
// holds the key and the nickname, each of which JSON may escape to six
// times its length (control characters in the key, '<', '>' and '&').
const nicknameValueMax = 16 << 10

// nicknameRecord is a NicknameRegistration as kept in the nicknames
// bucket, in JSON.
type nicknameRecord struct {
	V        int       `json:"v"`
	Key      string    `json:"key"`
	Nickname string    `json:"nickname"`
	Account  string    `json:"account"`
	Created  time.Time `json:"created"`
}

func (r *nicknameRecord) registration() *NicknameRegistration {
	return &NicknameRegistration{Key: r.Key, Nickname: r.Nickname, Account: r.Account, Created: r.Created}
}

// nicknameKey is the bucket key of a comparison key: escaped as room
// keys are.
func nicknameKey(key string) (string, error) {
	if err := checkNicknameKey(key); err != nil {
		return "", err
	}
	k, err := escapeKeyMax(key, nicknameKeyMax)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return k, nil
}

// checkNicknameKey says why key cannot be a comparison key, if it cannot.
func checkNicknameKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty nickname key", ErrInvalid)
	case len(key) > MaxNicknameKeyBytes:
		return fmt.Errorf("%w: nickname key of %d octets (at most %d)", ErrInvalid, len(key), MaxNicknameKeyBytes)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: nickname key %q is not UTF-8", ErrInvalid, key)
	}
	return nil
}

// checkNickname says why r cannot be stored, if it cannot.
func checkNickname(r *NicknameRegistration) error {
	if err := checkNicknameKey(r.Key); err != nil {
		return err
	}
	switch n := r.Nickname; {
	case n == "":
		return fmt.Errorf("%w: empty nickname", ErrInvalid)
	case len(n) > MaxNicknameBytes:
		return fmt.Errorf("%w: nickname of %d octets (at most %d)", ErrInvalid, len(n), MaxNicknameBytes)
	case !utf8.ValidString(n):
		return fmt.Errorf("%w: nickname %q is not UTF-8", ErrInvalid, n)
	case strings.ContainsFunc(n, unicode.IsControl):
		return fmt.Errorf("%w: nickname %q holds a control character", ErrInvalid, n)
	}
	if err := checkUsername(r.Account); err != nil {
		return fmt.Errorf("%w (the account of nickname %q)", err, r.Nickname)
	}
	return nil
}

// decodeNickname parses a stored record; key is the bucket key it was
// found under ("" to skip that check).
func decodeNickname(key string, data []byte) (*NicknameRegistration, error) {
	var rec nicknameRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%w: nickname record: %w", ErrFormat, err)
	}
	if rec.V != 1 {
		return nil, fmt.Errorf("%w: nickname record has version %d", ErrFormat, rec.V)
	}
	r := rec.registration()
	if err := checkNickname(r); err != nil {
		return nil, fmt.Errorf("%w: nickname record: %w", ErrFormat, err)
	}
	if key != "" {
		if k, _ := nicknameKey(rec.Key); k != key {
			return nil, fmt.Errorf("%w: nickname record of key %q under key %q", ErrFormat, rec.Key, key)
		}
	}
	return r, nil
}

// RegisterNickname registers r.Nickname, under its comparison key r.Key,
// to the account r.Account. It fails with ErrExists when the key is
// registered already, to anyone (a caller wanting idempotence checks the
// owner first: NicknameOwner): the write is JetStream's compare-and-set
// on the key, so of stores racing to register one key exactly one wins.
// An invalid registration fails with ErrInvalid. The store does not check
// that the account exists (see DeleteAccount).
func (s *Store) RegisterNickname(ctx context.Context, r NicknameRegistration) error {
	if err := checkNickname(&r); err != nil {
		return err
	}
	key, err := nicknameKey(r.Key)
	if err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	rec := nicknameRecord{V: 1, Key: r.Key, Nickname: r.Nickname, Account: r.Account, Created: time.Now().UTC()}
	data, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("store: nickname record: %w", err)
	}
	rev, err := s.nicknamesKV.Create(ctx, key, data)
	if conflict(err) {
		if e, err := s.nicknamesKV.Get(ctx, key); err == nil {
			if old, err := decodeNickname("", e.Value()); err == nil {
				return fmt.Errorf("%w: nickname %q: registered to %q as %q", ErrExists, r.Nickname, old.Account, old.Nickname)
			}
		}
		return fmt.Errorf("%w: nickname %q", ErrExists, r.Nickname)
	}
	if err != nil {
		return fmt.Errorf("store: registering nickname %q: %w", r.Nickname, err)
	}
	s.nick.apply(key, rev, rec.registration())
	return nil
}

// DropNickname drops the registration of that comparison key, whoever
// owns it. It fails with ErrNotFound when the key is not registered. A
// record that cannot be read is dropped too.
func (s *Store) DropNickname(ctx context.Context, key string) error {
	bkey, err := nicknameKey(key)
	if err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	for range casAttempts {
		e, err := s.nicknamesKV.Get(ctx, bkey)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("%w: nickname key %q", ErrNotFound, key)
		}
		if err != nil {
			return fmt.Errorf("store: reading nickname key %q: %w", key, err)
		}
		err = s.nicknamesKV.Delete(ctx, bkey, jetstream.LastRevision(e.Revision()))
		if conflict(err) {
			continue // another writer came between: read again
		}
		if err != nil {
			return fmt.Errorf("store: dropping nickname key %q: %w", key, err)
		}
		s.nick.deleted(bkey, e.Revision())
		return nil
	}
	return fmt.Errorf("%w: nickname key %q: too many concurrent writes", ErrUnavailable, key)
}

// NicknameRegistrations returns every registered nickname, sorted by
// Nickname (then Key), as the bucket holds them now (not from memory: see
// NicknameOwner). A record that cannot be read fails it with ErrFormat
// (DropNickname removes it).
func (s *Store) NicknameRegistrations(ctx context.Context) ([]NicknameRegistration, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	var regs []NicknameRegistration
	err := s.scanBucket(ctx, nicknamesBucket, func(key string, seq uint64, data []byte) error {
		r, err := decodeNickname(key, data)
		if err != nil {
			return fmt.Errorf("store: nickname record %d: %w", seq, err)
		}
		regs = append(regs, *r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(regs, func(a, b NicknameRegistration) int {
		if c := strings.Compare(a.Nickname, b.Nickname); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return regs, nil
}

// NicknameOwner returns the registration of that comparison key, from an
// in-memory copy of the nicknames bucket: it never waits for the store.
// The copy is kept as the accounts' is (see Account): Open returns once
// it holds every registration, this store's own writes are in it at once,
// others' within milliseconds (a watcher), and while the external server
// of ModeURL is unreachable it answers from what it last knew.
func (s *Store) NicknameOwner(key string) (NicknameRegistration, bool) {
	p := s.nick.get(key)
	if p == nil {
		return NicknameRegistration{}, false
	}
	return *p, true
}

// DropAccountNicknames drops every registration of the account (its
// username compared exactly, as stored) and returns how many it dropped.
// It reads the bucket itself, not the memory; a record that cannot be
// read is left (logged: its owner is unknown). On an error it returns
// how many it had dropped by then; calling it again drops the rest.
// DeleteAccount calls it.
func (s *Store) DropAccountNicknames(ctx context.Context, account string) (int, error) {
	if err := checkUsername(account); err != nil {
		return 0, err
	}
	if err := s.check(); err != nil {
		return 0, err
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	type found struct {
		key string
		rev uint64
	}
	var owned []found
	err := s.scanBucket(ctx, nicknamesBucket, func(key string, seq uint64, data []byte) error {
		r, err := decodeNickname(key, data)
		if err != nil {
			s.log.Warn("store: unreadable nickname record left", "key", key, "revision", seq, "err", err)
			return nil
		}
		if r.Account == account {
			owned = append(owned, found{key, seq})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: nicknames of %q: %w", account, err)
	}
	n := 0
	for _, f := range owned {
		dropped, err := s.dropOwned(ctx, f.key, f.rev, account)
		if err != nil {
			return n, fmt.Errorf("store: nicknames of %q: %w", account, err)
		}
		if dropped {
			n++
		}
	}
	return n, nil
}

// dropOwned deletes key, found at revision rev registered to account,
// while it still is (it may have been dropped, or dropped and registered
// by another, since).
func (s *Store) dropOwned(ctx context.Context, key string, rev uint64, account string) (bool, error) {
	for range casAttempts {
		err := s.nicknamesKV.Delete(ctx, key, jetstream.LastRevision(rev))
		if err == nil {
			s.nick.deleted(key, rev)
			return true, nil
		}
		if !conflict(err) {
			return false, fmt.Errorf("dropping key %q: %w", key, err)
		}
		e, err := s.nicknamesKV.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil // dropped by another
		}
		if err != nil {
			return false, fmt.Errorf("reading key %q: %w", key, err)
		}
		if r, err := decodeNickname(key, e.Value()); err != nil || r.Account != account {
			return false, nil // someone else's now
		}
		rev = e.Revision()
	}
	return false, fmt.Errorf("%w: key %q: too many concurrent writes", ErrUnavailable, key)
}

// scanBucket calls f with every current record of the KV bucket, in
// revision order (direct gets of its stream, not a watch): its bucket
// key, its revision and its value. Deletion markers are skipped.
func (s *Store) scanBucket(ctx context.Context, bucket string, f func(key string, rev uint64, data []byte) error) error {
	pfx := "$KV." + bucket + "."
	var seq uint64
	for {
		req, err := s.rd.batch(ctx, "KV_"+bucket, pfx+">", seq, time.Time{}, 1000)
		if err != nil {
			return fmt.Errorf("store: reading bucket %s: %w", bucket, err)
		}
		for _, m := range req.msgs {
			seq = m.seq + 1
			if op := m.hdr.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
				continue
			}
			key, ok := strings.CutPrefix(m.hdr.Get("Nats-Subject"), pfx)
			if !ok {
				return fmt.Errorf("%w: bucket %s: record %d without its subject", ErrFormat, bucket, m.seq)
			}
			if err := f(key, m.seq, m.data); err != nil {
				return err
			}
		}
		if req.np == 0 || len(req.msgs) == 0 {
			return nil
		}
	}
}
