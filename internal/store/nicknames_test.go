package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// nick is a registration of nickname to account; its comparison key is
// the nickname lower-cased (the caller's skeleton, as far as the store
// knows).
func nick(nickname, account string) NicknameRegistration {
	return NicknameRegistration{Key: strings.ToLower(nickname), Nickname: nickname, Account: account}
}

// sameNick compares what the caller gives (not the time).
func sameNick(a, b NicknameRegistration) bool {
	return a.Key == b.Key && a.Nickname == b.Nickname && a.Account == b.Account
}

func nicknames(regs []NicknameRegistration) []string {
	names := []string{}
	for _, r := range regs {
		names = append(names, r.Nickname+"/"+r.Account)
	}
	return names
}

// listNicks is NicknameRegistrations, failing the test on an error.
func listNicks(t *testing.T, s *Store) []string {
	t.Helper()
	regs, err := s.NicknameRegistrations(ctxT(t))
	if err != nil {
		t.Fatalf("NicknameRegistrations: %v", err)
	}
	return nicknames(regs)
}

// TestNicknames: register, look up, list and drop, in both embedded
// modes; ErrExists for a key registered already (to anyone), ErrNotFound
// for one that is not; this store's own writes seen by NicknameOwner at
// once.
func TestNicknames(t *testing.T) { eachEmbeddedMode(t, testNicknames) }

func testNicknames(t *testing.T, s *Store) {
	ctx := ctxT(t)
	if got := listNicks(t, s); len(got) != 0 {
		t.Fatalf("an empty store lists %v", got)
	}
	if _, ok := s.NicknameOwner("alice"); ok {
		t.Fatal("a nickname registered in an empty store")
	}
	before := time.Now()
	regs := []NicknameRegistration{nick("Zorro", "bob"), nick("Alice", "alice"), nick("Mad Hatter", "alice"), nick("Jörg", "jörg"), nick("alice2", "alice")}
	regs[0].Created = time.Unix(1, 0) // ignored
	for _, r := range regs {
		if err := s.RegisterNickname(ctx, r); err != nil {
			t.Fatalf("RegisterNickname %+v: %v", r, err)
		}
		// This store's own write is in memory at once.
		got, ok := s.NicknameOwner(r.Key)
		if !ok || !sameNick(got, r) || got.Created.Before(before.Add(-time.Second)) || got.Created.Location() != time.UTC {
			t.Fatalf("NicknameOwner(%q) right after RegisterNickname: %+v %v", r.Key, got, ok)
		}
	}
	// By key only, exactly.
	for _, k := range []string{"Alice", "ALICE", "alic", "mad hatter "} {
		if _, ok := s.NicknameOwner(k); ok {
			t.Fatalf("NicknameOwner(%q) found", k)
		}
	}
	want := []string{"Alice/alice", "Jörg/jörg", "Mad Hatter/alice", "Zorro/bob", "alice2/alice"}
	if got := listNicks(t, s); !slices.Equal(got, want) {
		t.Fatalf("NicknameRegistrations: %v, want %v", got, want)
	}

	// Registered already: to another account, or to the same one, under
	// another display form.
	for _, r := range []NicknameRegistration{nick("Alice", "bob"), nick("Alice", "alice"), {Key: "alice", Nickname: "ALICE", Account: "carol"}} {
		err := s.RegisterNickname(ctx, r)
		if !errors.Is(err, ErrExists) {
			t.Fatalf("RegisterNickname %+v: %v", r, err)
		}
		t.Logf("RegisterNickname %+v: %v", r, err)
	}
	if got, _ := s.NicknameOwner("alice"); !sameNick(got, nick("Alice", "alice")) {
		t.Fatalf("a refused registration changed the owner: %+v", got)
	}

	// Drop: by key; ErrNotFound when none.
	if err := s.DropNickname(ctx, "Alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DropNickname of another key: %v", err)
	}
	if err := s.DropNickname(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.NicknameOwner("alice"); ok {
		t.Fatal("NicknameOwner right after DropNickname")
	}
	if err := s.DropNickname(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DropNickname again: %v", err)
	}
	// Free again, for anyone.
	if err := s.RegisterNickname(ctx, nick("ALICE", "carol")); err != nil {
		t.Fatalf("RegisterNickname after the drop: %v", err)
	}

	// Every registration of one account.
	n, err := s.DropAccountNicknames(ctx, "alice")
	if err != nil || n != 2 {
		t.Fatalf("DropAccountNicknames: %d, %v", n, err)
	}
	for _, k := range []string{"mad hatter", "alice2"} {
		if _, ok := s.NicknameOwner(k); ok {
			t.Fatalf("NicknameOwner(%q) after DropAccountNicknames", k)
		}
	}
	if n, err := s.DropAccountNicknames(ctx, "alice"); err != nil || n != 0 {
		t.Fatalf("DropAccountNicknames again: %d, %v", n, err)
	}
	// Exactly that username: "Bob" is not "bob".
	if n, err := s.DropAccountNicknames(ctx, "Bob"); err != nil || n != 0 {
		t.Fatalf("DropAccountNicknames(Bob): %d, %v", n, err)
	}
	want = []string{"ALICE/carol", "Jörg/jörg", "Zorro/bob"}
	list, err := s.NicknameRegistrations(ctx)
	if err != nil || !slices.Equal(nicknames(list), want) {
		t.Fatalf("NicknameRegistrations: %v %v, want %v", nicknames(list), err, want)
	}
	// What the watch brought agrees with the bucket.
	waitFor(t, 2*time.Second, "memory and bucket agree", func() bool {
		for _, r := range list {
			if got, ok := s.NicknameOwner(r.Key); !ok || got != r {
				return false
			}
		}
		return s.nick.len() == len(list)
	})
}

// TestNicknameRegisterRace: goroutines racing to register one key, for
// several accounts: exactly one wins each round, the others get
// ErrExists, and the winner is the owner.
func TestNicknameRegisterRace(t *testing.T) {
	s := memStore(t)
	ctx := ctxT(t)
	accounts := []string{"a", "b", "c", "d", "e"}
	for round := range 20 {
		name := fmt.Sprintf("Racer%d", round)
		errs := make([]error, len(accounts))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, acc := range accounts {
			wg.Go(func() {
				<-start
				errs[i] = s.RegisterNickname(ctx, nick(name, acc))
			})
		}
		close(start)
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil:
				if winner != "" {
					t.Fatalf("round %d: %q and %q both registered it", round, winner, accounts[i])
				}
				winner = accounts[i]
			case !errors.Is(err, ErrExists):
				t.Fatalf("round %d: %q: %v", round, accounts[i], err)
			}
		}
		if winner == "" {
			t.Fatalf("round %d: nobody won: %v", round, errs)
		}
		if got, ok := s.NicknameOwner(strings.ToLower(name)); !ok || got.Account != winner {
			t.Fatalf("round %d: owner %+v %v, winner %q", round, got, ok, winner)
		}
	}
	if got := listNicks(t, s); len(got) != 20 {
		t.Fatalf("%d registrations: %v", len(got), got)
	}
}

// TestNicknameInvalid: what cannot be registered is refused with
// ErrInvalid (and nothing is written); the limits themselves are
// accepted, and a key at its limit (escaped to three times its length)
// goes through every operation.
func TestNicknameInvalid(t *testing.T) {
	s := memStore(t)
	ctx := ctxT(t)
	good := nick("Alice", "alice")
	for name, change := range map[string]func(r *NicknameRegistration){
		"empty key":                func(r *NicknameRegistration) { r.Key = "" },
		"key not UTF-8":            func(r *NicknameRegistration) { r.Key = "al\xffice" },
		"long key":                 func(r *NicknameRegistration) { r.Key = strings.Repeat("k", MaxNicknameKeyBytes+1) },
		"long non-ASCII key":       func(r *NicknameRegistration) { r.Key = strings.Repeat("é", MaxNicknameKeyBytes/2) + "k" },
		"empty nickname":           func(r *NicknameRegistration) { r.Nickname = "" },
		"nickname not UTF-8":       func(r *NicknameRegistration) { r.Nickname = "Al\xc3ice" },
		"nickname with NUL":        func(r *NicknameRegistration) { r.Nickname = "Al\x00ice" },
		"nickname with CR LF":      func(r *NicknameRegistration) { r.Nickname = "Alice\r\nX: y" },
		"nickname with DEL":        func(r *NicknameRegistration) { r.Nickname = "Alice\x7f" },
		"nickname with C1 control": func(r *NicknameRegistration) { r.Nickname = "Alice\u0085" },
		"long nickname":            func(r *NicknameRegistration) { r.Nickname = strings.Repeat("n", MaxNicknameBytes+1) },
		"empty account":            func(r *NicknameRegistration) { r.Account = "" },
		"account not UTF-8":        func(r *NicknameRegistration) { r.Account = "al\xffice" },
		"account with a space":     func(r *NicknameRegistration) { r.Account = "al ice" },
		"account with '@'":         func(r *NicknameRegistration) { r.Account = "alice@example.com" },
		"long account":             func(r *NicknameRegistration) { r.Account = strings.Repeat("a", MaxUsernameBytes+1) },
	} {
		r := good
		change(&r)
		err := s.RegisterNickname(ctx, r)
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: RegisterNickname: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
		if _, ok := s.NicknameOwner(r.Key); ok {
			t.Fatalf("%s: registered", name)
		}
	}
	for _, k := range []string{"", "al\xffice", strings.Repeat("k", MaxNicknameKeyBytes+1)} {
		if err := s.DropNickname(ctx, k); !errors.Is(err, ErrInvalid) {
			t.Fatalf("DropNickname(%q): %v", k, err)
		}
	}
	for _, a := range []string{"", "al ice", "a/b", strings.Repeat("a", MaxUsernameBytes+1)} {
		if _, err := s.DropAccountNicknames(ctx, a); !errors.Is(err, ErrInvalid) {
			t.Fatalf("DropAccountNicknames(%q): %v", a, err)
		}
	}
	if got := listNicks(t, s); len(got) != 0 {
		t.Fatalf("invalid registrations stored: %v", got)
	}

	// At the limits: every octet of the key escaped (3,072 octets in the
	// subject), the longest nickname and account; a key of control
	// characters and '.', '*', '>' (opaque to the store).
	longest := NicknameRegistration{
		Key:      strings.Repeat("é", MaxNicknameKeyBytes/2),
		Nickname: strings.Repeat("<", MaxNicknameBytes-3) + "日",
		Account:  strings.Repeat("a", MaxUsernameBytes),
	}
	odd := NicknameRegistration{Key: "\x00\t.*>_ \u2028", Nickname: "Odd one ☃", Account: "日本"}
	for _, r := range []NicknameRegistration{longest, odd} {
		if err := s.RegisterNickname(ctx, r); err != nil {
			t.Fatalf("RegisterNickname(%.40q): %v", r.Nickname, err)
		}
		if got, ok := s.NicknameOwner(r.Key); !ok || !sameNick(got, r) {
			t.Fatalf("NicknameOwner(%.40q): %v", r.Key, ok)
		}
		if err := s.RegisterNickname(ctx, r); !errors.Is(err, ErrExists) {
			t.Fatalf("RegisterNickname(%.40q) again: %v", r.Nickname, err)
		}
	}
	list, err := s.NicknameRegistrations(ctx)
	if err != nil || len(list) != 2 || !sameNick(list[0], longest) || !sameNick(list[1], odd) {
		t.Fatalf("NicknameRegistrations: %v %v", nicknames(list), err)
	}
	// Such a key comes through the watch too: written by another (straight
	// to the KV), it is seen.
	other := longest
	other.Key = strings.Repeat("è", MaxNicknameKeyBytes/2)
	bkey, err := nicknameKey(other.Key)
	if err != nil || len(bkey) != 3*MaxNicknameKeyBytes {
		t.Fatalf("the key escaped: %d octets, %v", len(bkey), err)
	}
	data, _ := json.Marshal(nicknameRecord{V: 1, Key: other.Key, Nickname: other.Nickname, Account: other.Account})
	if _, err := s.nicknamesKV.Put(ctx, bkey, data); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "a long key watched", func() bool { got, ok := s.NicknameOwner(other.Key); return ok && sameNick(got, other) })
	if err := s.DropNickname(ctx, other.Key); err != nil {
		t.Fatal(err)
	}
	if err := s.DropNickname(ctx, longest.Key); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DropAccountNicknames(ctx, "日本"); err != nil || n != 1 {
		t.Fatalf("DropAccountNicknames: %d %v", n, err)
	}
	if got := listNicks(t, s); len(got) != 0 {
		t.Fatalf("left: %v", got)
	}
}

// TestNicknameWatch: a write to the bucket by someone else (straight to
// the KV) is seen by NicknameOwner within a bounded wait; an unreadable
// record, or one under another key, is ignored (logged), refused by
// NicknameRegistrations with ErrFormat, left by DropAccountNicknames and
// removed by DropNickname.
func TestNicknameWatch(t *testing.T) {
	s := memStore(t)
	ctx := ctxT(t)
	put := func(bkey string, data []byte) {
		t.Helper()
		if _, err := s.nicknamesKV.Put(ctx, bkey, data); err != nil {
			t.Fatal(err)
		}
	}
	record := func(r NicknameRegistration) []byte {
		data, err := json.Marshal(nicknameRecord{V: 1, Key: r.Key, Nickname: r.Nickname, Account: r.Account, Created: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	bkey := func(key string) string {
		k, err := nicknameKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	start := time.Now()
	put(bkey("dave"), record(nick("Dave", "dave")))
	waitFor(t, 2*time.Second, "a write by another seen", func() bool { _, ok := s.NicknameOwner("dave"); return ok })
	t.Logf("seen after %v", time.Since(start))
	if err := s.nicknamesKV.Delete(ctx, bkey("dave")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "a deletion by another seen", func() bool { _, ok := s.NicknameOwner("dave"); return !ok })

	put(bkey("erin"), record(nick("Erin", "erin")))
	waitFor(t, 2*time.Second, "erin", func() bool { _, ok := s.NicknameOwner("erin"); return ok })
	for _, bad := range [][]byte{
		[]byte("{not json"),
		[]byte(`{"v":2,"key":"erin","nickname":"Erin","account":"erin"}`),
		[]byte(`{"v":1,"key":"erin","nickname":"Erin","account":"er in"}`),
		record(nick("Frank", "erin")), // under erin's key
	} {
		put(bkey("erin"), bad)
		waitFor(t, 2*time.Second, "an unreadable record ignored", func() bool { _, ok := s.NicknameOwner("erin"); return !ok })
		if _, ok := s.NicknameOwner("frank"); ok {
			t.Fatal("a record under another key taken")
		}
		if _, err := s.NicknameRegistrations(ctx); !errors.Is(err, ErrFormat) {
			t.Fatalf("NicknameRegistrations with an unreadable record: %v", err)
		}
	}
	if err := s.RegisterNickname(ctx, nick("Erin", "erin")); !errors.Is(err, ErrExists) {
		t.Fatalf("RegisterNickname over an unreadable record: %v", err)
	}
	if n, err := s.DropAccountNicknames(ctx, "erin"); err != nil || n != 0 {
		t.Fatalf("DropAccountNicknames with an unreadable record: %d %v", n, err)
	}
	if err := s.DropNickname(ctx, "erin"); err != nil {
		t.Fatalf("DropNickname of an unreadable record: %v", err)
	}
	if got := listNicks(t, s); len(got) != 0 {
		t.Fatalf("left: %v", got)
	}
}

// TestDeleteAccountDropsNicknames: DeleteAccount drops the account's
// registrations (and only its), in both embedded modes; a DeleteAccount
// that fails with ErrNotFound drops nothing.
func TestDeleteAccountDropsNicknames(t *testing.T) {
	eachEmbeddedMode(t, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		for _, u := range []string{"Alice", "bob"} {
			if err := s.CreateAccount(ctx, testAccount(u)); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range []NicknameRegistration{nick("Alice", "Alice"), nick("Queen", "Alice"), nick("Bob", "bob"), nick("Knave", "bob")} {
			if err := s.RegisterNickname(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteAccount(ctx, "alice"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("DeleteAccount of a case variant: %v", err)
		}
		if got := listNicks(t, s); len(got) != 4 {
			t.Fatalf("a failed DeleteAccount dropped nicknames: %v", got)
		}
		if err := s.DeleteAccount(ctx, "Alice"); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"alice", "queen"} {
			if _, ok := s.NicknameOwner(k); ok {
				t.Fatalf("NicknameOwner(%q) after DeleteAccount", k)
			}
		}
		if got, want := listNicks(t, s), []string{"Bob/bob", "Knave/bob"}; !slices.Equal(got, want) {
			t.Fatalf("NicknameRegistrations after DeleteAccount: %v, want %v", got, want)
		}
		// The nicknames are free for another.
		if err := s.RegisterNickname(ctx, nick("QUEEN", "bob")); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.NicknameOwner("queen"); got.Account != "bob" {
			t.Fatalf("owner %+v", got)
		}
	})
}

// TestNicknamesKept: in a file store, registrations survive Close and
// reopening (a dropped one stays dropped); the stored record has only the
// documented fields.
func TestNicknamesKept(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	s, err := Open(ctx, Config{DataDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := []NicknameRegistration{nick("Alice", "alice"), nick("Dormouse", "bob"), nick("Hatter", "alice")}
	for _, r := range append(want, nick("Gone", "bob")) {
		if err := s.RegisterNickname(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DropNickname(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	before, _ := s.NicknameOwner("alice")
	e, err := s.nicknamesKV.Get(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(e.Value(), &fields); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, []string{"account", "created", "key", "nickname", "v"}) || string(fields["v"]) != "1" {
		t.Fatalf("stored record %s", e.Value())
	}
	t.Logf("stored record: %s", e.Value())
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s = fileStore(t, dir)
	for _, r := range want {
		if got, ok := s.NicknameOwner(r.Key); !ok || !sameNick(got, r) {
			t.Fatalf("after the reopening: %+v %v, want %+v", got, ok, r)
		}
	}
	if got, _ := s.NicknameOwner("alice"); got != before {
		t.Fatalf("changed: %+v, before %+v", got, before)
	}
	if _, ok := s.NicknameOwner("gone"); ok {
		t.Fatal("a dropped nickname came back")
	}
	if got := listNicks(t, s); !slices.Equal(got, []string{"Alice/alice", "Dormouse/bob", "Hatter/alice"}) {
		t.Fatalf("NicknameRegistrations after the reopening: %v", got)
	}
}

// TestNicknamesBucketAdded: a store initialized before registered
// nicknames existed (no nicknames bucket, no "nicknames" key in the meta
// bucket) gets the bucket on Open, its accounts and messages kept; one
// whose bucket is missing although it was made is damaged: ErrCorrupt,
// nothing changed.
func TestNicknamesBucketAdded(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	s, err := Open(ctx, Config{DataDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, s, []Message{msg("sip:r@x", 1)})
	if err := s.CreateAccount(ctx, testAccount("alice")); err != nil {
		t.Fatal(err)
	}
	// As a store of the previous build: no bucket, no marker.
	if err := s.js.DeleteKeyValue(ctx, nicknamesBucket); err != nil {
		t.Fatal(err)
	}
	if err := s.metaKV.Purge(ctx, nicknamesKey); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(streamDir(dir, "KV_"+nicknamesBucket)); !os.IsNotExist(err) {
		t.Fatalf("the bucket is still there: %v", err)
	}

	s, err = Open(ctx, Config{DataDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open of a store older than nicknames: %v", err)
	}
	if e, err := s.metaKV.Get(ctx, nicknamesKey); err != nil || string(e.Value()) != "1" {
		t.Fatalf("the nicknames key: %v", err)
	}
	if got, err := s.Last(ctx, "sip:r@x", 10, 0); err != nil || len(got) != 1 {
		t.Fatalf("messages: %d, %v", len(got), err)
	}
	if _, ok := s.Account("alice"); !ok {
		t.Fatal("the account is gone")
	}
	if err := s.RegisterNickname(ctx, nick("Alice", "alice")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Damaged: the bucket's stream cannot be loaded.
	if err := os.Remove(filepath.Join(streamDir(dir, "KV_"+nicknamesBucket), "meta.inf")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := Open(ctx, Config{DataDir: dir, Logger: testLogger(t)})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), nicknamesBucket) {
			t.Fatalf("Open with the nicknames bucket damaged: %v", err)
		}
		t.Logf("Open: %v", err)
	}
}

// TestNicknamesURL: two stores on one external server: what one
// registers, drops, or drops with an account the other's NicknameOwner
// sees within a bounded wait; of the two racing to register one key,
// one wins. The server goes away: NicknameOwner answers from memory,
// writes fail with ErrUnavailable; it comes back empty: the
// registrations are gone there too.
func TestNicknamesURL(t *testing.T) {
	dir := t.TempDir()
	ext, port := startExternal(t, dir, 0)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	a := open(t, Config{Mode: ModeURL, URL: url})
	b := open(t, Config{Mode: ModeURL, URL: url})
	ctx := ctxT(t)

	seen := func(what, key string, cond func(NicknameRegistration, bool) bool) {
		t.Helper()
		start := time.Now()
		waitFor(t, 2*time.Second, what, func() bool { return cond(a.NicknameOwner(key)) })
		t.Logf("%s: after %v", what, time.Since(start).Round(time.Microsecond))
	}
	present := func(want NicknameRegistration) func(NicknameRegistration, bool) bool {
		return func(got NicknameRegistration, ok bool) bool { return ok && sameNick(got, want) }
	}
	absent := func(_ NicknameRegistration, ok bool) bool { return !ok }

	alice := nick("Alice", "alice")
	if err := b.RegisterNickname(ctx, alice); err != nil {
		t.Fatal(err)
	}
	seen("registered by the other store", "alice", present(alice))
	if err := a.RegisterNickname(ctx, nick("ALICE", "mallory")); !errors.Is(err, ErrExists) {
		t.Fatalf("the other store's registration: %v", err)
	}
	if err := b.DropNickname(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	seen("dropped by the other store", "alice", absent)

	// An account deleted by the other store takes its nicknames along.
	if err := b.CreateAccount(ctx, testAccount("carol")); err != nil {
		t.Fatal(err)
	}
	carol := nick("Carol", "carol")
	if err := b.RegisterNickname(ctx, carol); err != nil {
		t.Fatal(err)
	}
	seen("carol registered", "carol", present(carol))
	if err := b.DeleteAccount(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	seen("dropped with the account", "carol", absent)

	// Two stores racing to register one key: one wins.
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} {
		wg.Go(func() { errs[i] = s.RegisterNickname(ctx, nick("Dinah", []string{"x", "y"}[i])) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), ErrExists) {
		t.Fatalf("racing stores: %v", errs)
	}
	winner := map[bool]string{true: "x", false: "y"}[errs[0] == nil]
	seen("the winner", "dinah", func(r NicknameRegistration, ok bool) bool { return ok && r.Account == winner })

	// The server goes away: memory answers, writes fail.
	stopExternal(ext)
	waitFor(t, 5*time.Second, "unavailable", func() bool { return !a.Available() && !b.Available() })
	if got, ok := a.NicknameOwner("dinah"); !ok || got.Account != winner {
		t.Fatal("NicknameOwner while the server is down")
	}
	if err := a.RegisterNickname(ctx, nick("Eve", "eve")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("RegisterNickname while down: %v", err)
	}
	if _, err := a.NicknameRegistrations(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("NicknameRegistrations while down: %v", err)
	}

	// Back empty: nothing there, and it goes on.
	loads := a.nick.loads.Load()
	startExternal(t, t.TempDir(), port)
	waitFor(t, 15*time.Second, "available again", func() bool { return a.Available() && b.Available() })
	waitFor(t, 5*time.Second, "nicknames read again", func() bool { return a.nick.loads.Load() > loads })
	if _, ok := a.NicknameOwner("dinah"); ok {
		t.Fatal("a registration of the lost server still in memory")
	}
	// b may still be setting the server up again.
	frank := nick("Frank", "frank")
	waitFor(t, 5*time.Second, "register on the new server", func() bool { return b.RegisterNickname(ctx, frank) == nil })
	seen("registered on the new server", "frank", present(frank))
}

// TestNicknamesClose: after Close, writes fail with ErrClosed, and
// NicknameOwner answers from what it knew.
func TestNicknamesClose(t *testing.T) {
	s, err := Open(ctxT(t), Config{Mode: ModeMemory, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterNickname(ctxT(t), nick("Alice", "alice")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterNickname(ctxT(t), nick("Bob", "bob")); !errors.Is(err, ErrClosed) {
		t.Fatalf("RegisterNickname after Close: %v", err)
	}
	if err := s.DropNickname(ctxT(t), "alice"); !errors.Is(err, ErrClosed) {
		t.Fatalf("DropNickname after Close: %v", err)
	}
	if _, err := s.DropAccountNicknames(ctxT(t), "alice"); !errors.Is(err, ErrClosed) {
		t.Fatalf("DropAccountNicknames after Close: %v", err)
	}
	if _, err := s.NicknameRegistrations(ctxT(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("NicknameRegistrations after Close: %v", err)
	}
	if _, ok := s.NicknameOwner("alice"); !ok {
		t.Fatal("NicknameOwner after Close")
	}
}
