package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testRealm is the realm of the test accounts.
const testRealm = "example.com"

// password is the clear password of a test account: it must never reach
// the store.
func password(user string) string { return "s3cret pa55word of " + user }

// ha1s are the RFC 7616 / RFC 8760 HA1 values of user in realm.
func ha1s(user, realm, pass string) map[string]string {
	in := []byte(user + ":" + realm + ":" + pass)
	m, s := md5.Sum(in), sha256.Sum256(in)
	return map[string]string{"MD5": hex.EncodeToString(m[:]), "SHA-256": hex.EncodeToString(s[:])}
}

func testAccount(user string) Account {
	return Account{Username: user, Realm: testRealm, HA1: ha1s(user, testRealm, password(user))}
}

// sameAccount compares what the caller gives (not the times).
func sameAccount(a, b Account) bool {
	return a.Username == b.Username && a.Display == b.Display && a.Realm == b.Realm && maps.Equal(a.HA1, b.HA1)
}

func eachEmbeddedMode(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Run("memory", func(t *testing.T) { f(t, memStore(t)) })
	t.Run("file", func(t *testing.T) { f(t, fileStore(t, t.TempDir())) })
}

// TestAccounts: create, get, list, replace and delete, in both embedded
// modes; ErrExists for a username taken, exactly or but for ASCII case;
// ErrNotFound; this store's own writes seen by Account at once.
func TestAccounts(t *testing.T) { eachEmbeddedMode(t, testAccounts) }

func testAccounts(t *testing.T, s *Store) {
	ctx := ctxT(t)
	if got, err := s.Accounts(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Accounts of an empty store: %v %v", got, err)
	}
	if _, ok := s.Account("alice"); ok {
		t.Fatal("an account in an empty store")
	}
	before := time.Now()
	alice := testAccount("Alice")
	alice.Display = "Alice Liddell"
	for _, a := range []Account{testAccount("zed"), alice, testAccount("bob"), testAccount("jörg")} {
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatalf("CreateAccount %s: %v", a.Username, err)
		}
		// This store's own write is in memory at once.
		got, ok := s.Account(a.Username)
		if !ok || !sameAccount(got, a) {
			t.Fatalf("Account %s right after CreateAccount: %+v %v", a.Username, got, ok)
		}
		if got.Created.Before(before.Add(-time.Second)) || !got.Created.Equal(got.Updated) {
			t.Fatalf("Created %v, Updated %v", got.Created, got.Updated)
		}
	}
	// Exact case only.
	for _, u := range []string{"alice", "ALICE", "Alic", "Alicee"} {
		if _, ok := s.Account(u); ok {
			t.Fatalf("Account(%q) found", u)
		}
	}
	list, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, a := range list {
		names = append(names, a.Username)
	}
	if !slices.Equal(names, []string{"Alice", "bob", "jörg", "zed"}) {
		t.Fatalf("Accounts: %v", names)
	}
	if !sameAccount(list[0], alice) {
		t.Fatalf("listed %+v, want %+v", list[0], alice)
	}

	// Taken: the same username, or one differing only in ASCII case.
	for _, u := range []string{"Alice", "alice", "ALICE", "aLiCe", "BOB"} {
		err := s.CreateAccount(ctx, testAccount(u))
		if !errors.Is(err, ErrExists) {
			t.Fatalf("CreateAccount %q: %v", u, err)
		}
		t.Logf("CreateAccount %q: %v", u, err)
	}
	if err := s.PutAccount(ctx, testAccount("alice")); !errors.Is(err, ErrExists) {
		t.Fatalf("PutAccount of a case variant: %v", err)
	}
	// Non-ASCII letters are not folded: "JÖRG" is another name than "jörg",
	// but "JöRG" is not.
	if err := s.CreateAccount(ctx, testAccount("JöRG")); !errors.Is(err, ErrExists) {
		t.Fatalf("CreateAccount JöRG: %v", err)
	}
	if err := s.CreateAccount(ctx, testAccount("jÖrg")); err != nil {
		t.Fatalf("CreateAccount jÖrg: %v", err)
	}
	if got, _ := s.Account("Alice"); !sameAccount(got, alice) {
		t.Fatal("a refused create changed the account")
	}

	// Replace: a new password and display name; Created is kept.
	old, _ := s.Account("Alice")
	time.Sleep(2 * time.Millisecond)
	alice2 := Account{Username: "Alice", Display: "Alice L.", Realm: testRealm, HA1: ha1s("Alice", testRealm, "new password")}
	alice2.Created = time.Unix(1, 0) // ignored
	if err := s.PutAccount(ctx, alice2); err != nil {
		t.Fatal(err)
	}
	got, ok := s.Account("Alice")
	if !ok || !sameAccount(got, alice2) || !got.Created.Equal(old.Created) || !got.Updated.After(old.Updated) {
		t.Fatalf("after PutAccount: %+v (before %+v)", got, old)
	}
	// PutAccount creates too.
	if err := s.PutAccount(ctx, testAccount("carol")); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Account("carol"); !ok || !sameAccount(got, testAccount("carol")) {
		t.Fatalf("PutAccount of a new account: %+v %v", got, ok)
	}
	// The HA1 map returned is the caller's own.
	got.HA1["MD5"] = "changed"
	clear(alice2.HA1)
	if got, _ := s.Account("Alice"); got.HA1["MD5"] != ha1s("Alice", testRealm, "new password")["MD5"] {
		t.Fatal("the store's copy changed with the caller's maps")
	}

	// Delete: exact username only; ErrNotFound when none.
	if err := s.DeleteAccount(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteAccount of a case variant: %v", err)
	}
	if err := s.DeleteAccount(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteAccount of nobody: %v", err)
	}
	if err := s.DeleteAccount(ctx, "Alice"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Account("Alice"); ok {
		t.Fatal("Account right after DeleteAccount")
	}
	if err := s.DeleteAccount(ctx, "Alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteAccount again: %v", err)
	}
	// The name is free again, in any case.
	if err := s.CreateAccount(ctx, testAccount("alice")); err != nil {
		t.Fatalf("CreateAccount after the delete: %v", err)
	}
	list, err = s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for _, a := range list {
		names = append(names, a.Username)
	}
	if !slices.Equal(names, []string{"alice", "bob", "carol", "jÖrg", "jörg", "zed"}) {
		t.Fatalf("Accounts: %v", names)
	}
	// What the watch brought agrees with the bucket.
	waitFor(t, 2*time.Second, "memory and bucket agree", func() bool {
		for _, a := range list {
			if got, ok := s.Account(a.Username); !ok || !sameAccount(got, a) || !got.Updated.Equal(a.Updated) {
				return false
			}
		}
		return s.acc.len() == len(list)
	})
}

// TestAccountWatch: a write to the bucket by someone else (here, straight
// to the KV) is seen by Account within a bounded wait; an unreadable
// record is ignored (logged), refused by Accounts with ErrFormat, and
// DeleteAccount removes it.
func TestAccountWatch(t *testing.T) {
	s := memStore(t)
	ctx := ctxT(t)
	put := func(a Account) {
		t.Helper()
		data, _, err := accountRecordOf(&a, time.Now().UTC(), time.Now().UTC())
		if err != nil {
			t.Fatal(err)
		}
		key, _ := accountKey(a.Username)
		if _, err := s.accountsKV.Put(ctx, key, data); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	put(testAccount("dave"))
	waitFor(t, 2*time.Second, "a write by another seen", func() bool { _, ok := s.Account("dave"); return ok })
	t.Logf("seen after %v", time.Since(start))
	key, _ := accountKey("dave")
	if err := s.accountsKV.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "a deletion by another seen", func() bool { _, ok := s.Account("dave"); return !ok })

	put(testAccount("erin"))
	waitFor(t, 2*time.Second, "erin", func() bool { _, ok := s.Account("erin"); return ok })
	key, _ = accountKey("erin")
	for _, bad := range [][]byte{[]byte("{not json"), []byte(`{"v":2,"username":"erin","realm":"x","ha1":{}}`)} {
		if _, err := s.accountsKV.Put(ctx, key, bad); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Second, "an unreadable record ignored", func() bool { _, ok := s.Account("erin"); return !ok })
		if _, err := s.Accounts(ctx); !errors.Is(err, ErrFormat) {
			t.Fatalf("Accounts with an unreadable record: %v", err)
		}
	}
	// A record under another name's key is not taken either.
	wrong, _, _ := accountRecordOf(&Account{Username: "frank", Realm: testRealm, HA1: ha1s("frank", testRealm, "x")}, time.Now(), time.Now())
	if _, err := s.accountsKV.Put(ctx, key, wrong); err != nil {
		t.Fatal(err)
	}
	put(testAccount("gina"))
	waitFor(t, 2*time.Second, "gina", func() bool { _, ok := s.Account("gina"); return ok })
	if _, ok := s.Account("frank"); ok {
		t.Fatal("a record under another key taken")
	}
	if err := s.PutAccount(ctx, testAccount("erin")); !errors.Is(err, ErrFormat) {
		t.Fatalf("PutAccount over an unreadable record: %v", err)
	}
	if err := s.CreateAccount(ctx, testAccount("Erin")); !errors.Is(err, ErrExists) {
		t.Fatalf("CreateAccount over an unreadable record: %v", err)
	}
	if err := s.DeleteAccount(ctx, "erin"); err != nil {
		t.Fatalf("DeleteAccount of an unreadable record: %v", err)
	}
	if got, err := s.Accounts(ctx); err != nil || len(got) != 1 || got[0].Username != "gina" {
		t.Fatalf("Accounts: %+v %v", got, err)
	}
}

// TestAccountCreateRace: goroutines racing to create one username, or
// case variants of it: exactly one wins each round, the others get
// ErrExists, and only the winner is an account.
func TestAccountCreateRace(t *testing.T) {
	s := memStore(t)
	ctx := ctxT(t)
	for round := range 20 {
		base := fmt.Sprintf("racer%d", round)
		variants := []string{base, base, strings.ToUpper(base), "R" + base[1:], base}
		errs := make([]error, len(variants))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, u := range variants {
			wg.Go(func() {
				<-start
				errs[i] = s.CreateAccount(ctx, testAccount(u))
			})
		}
		close(start)
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil:
				if winner != "" {
					t.Fatalf("round %d: %q and %q both created", round, winner, variants[i])
				}
				winner = variants[i]
			case !errors.Is(err, ErrExists):
				t.Fatalf("round %d: %q: %v", round, variants[i], err)
			}
		}
		if winner == "" {
			t.Fatalf("round %d: nobody won: %v", round, errs)
		}
		for _, u := range variants {
			if _, ok := s.Account(u); ok != (u == winner) {
				t.Fatalf("round %d: Account(%q) = %v, winner %q", round, u, ok, winner)
			}
		}
	}
	list, err := s.Accounts(ctx)
	if err != nil || len(list) != 20 {
		t.Fatalf("%d accounts, %v", len(list), err)
	}
}

// TestAccountInvalid: what cannot be an account is refused with ErrInvalid
// (and nothing is written); the limits themselves are accepted.
func TestAccountInvalid(t *testing.T) {
	s := memStore(t)
	ctx := ctxT(t)
	for _, u := range []string{
		"", "al ice", " alice", "alice\t", "al\x00ice", "al\x7fice", "al\u0085ice", "al\u00a0ice", "al\u200bice",
		"alice@example.com", "sip:alice", "a/b", "al\xffice", strings.Repeat("a", MaxUsernameBytes+1),
		strings.Repeat("é", MaxUsernameBytes/2) + "a",
	} {
		for name, err := range map[string]error{
			"CreateAccount": s.CreateAccount(ctx, testAccount(u)),
			"PutAccount":    s.PutAccount(ctx, testAccount(u)),
			"DeleteAccount": s.DeleteAccount(ctx, u),
		} {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s(%q): %v", name, u, err)
			}
		}
		if _, ok := s.Account(u); ok {
			t.Fatalf("Account(%q) found", u)
		}
	}
	err := s.CreateAccount(ctx, testAccount("al ice"))
	t.Logf("an invalid username: %v", err)

	good := testAccount("ok")
	for name, change := range map[string]func(a *Account){
		"no realm":         func(a *Account) { a.Realm = "" },
		"realm with quote": func(a *Account) { a.Realm = `ex"ample.com` },
		"no HA1":           func(a *Account) { a.HA1 = nil },
		"unknown algorithm": func(a *Account) {
			a.HA1 = map[string]string{"SHA-1": strings.Repeat("a", 40)}
		},
		"upper-case hex": func(a *Account) { a.HA1["MD5"] = strings.ToUpper(a.HA1["MD5"]) },
		"short hash":     func(a *Account) { a.HA1["SHA-256"] = a.HA1["SHA-256"][:63] },
		"clear password": func(a *Account) { a.HA1["MD5"] = password("ok") },
		"display with newline": func(a *Account) {
			a.Display = "Mallory\r\nVia: x"
		},
		"long display": func(a *Account) { a.Display = strings.Repeat("d", 257) },
	} {
		a := good
		a.HA1 = maps.Clone(good.HA1)
		change(&a)
		if err := s.CreateAccount(ctx, a); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: CreateAccount: %v", name, err)
		}
		if err := s.PutAccount(ctx, a); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: PutAccount: %v", name, err)
		}
	}
	if got, err := s.Accounts(ctx); err != nil || len(got) != 0 {
		t.Fatalf("invalid accounts stored: %+v %v", got, err)
	}
	// At the limits.
	for _, u := range []string{strings.Repeat("a", MaxUsernameBytes), strings.Repeat("é", MaxUsernameBytes/2), "a.b_c-d+e!~*'()", "日本"} {
		if err := s.CreateAccount(ctx, testAccount(u)); err != nil {
			t.Fatalf("CreateAccount(%q): %v", u, err)
		}
		if _, ok := s.Account(u); !ok {
			t.Fatalf("Account(%q) missing", u)
		}
	}
	a := testAccount("sha512")
	a.HA1["SHA-512-256"] = strings.Repeat("0123456789abcdef", 4)
	a.Display = strings.Repeat("d", 256)
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
}

// TestAccountsKeptExactly: in a file store, accounts survive Close and
// reopening with their hashes exactly as given; the clear password is
// nowhere on disk; the stored record has only the documented fields, and
// no type of the store has a password field.
func TestAccountsKeptExactly(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	s, err := Open(ctx, Config{DataDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	users := []string{"alice", "Bob", "carol"}
	var want []Account
	for _, u := range users {
		a := testAccount(u)
		a.Display = "The " + u
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		want = append(want, a)
	}
	// A deleted account stays deleted after the reopening.
	if err := s.CreateAccount(ctx, testAccount("gone")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Account("alice")
	key, _ := accountKey("Bob")
	e, err := s.accountsKV.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(e.Value(), &fields); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, []string{"created", "display", "ha1", "realm", "updated", "username", "v"}) || string(fields["v"]) != "1" {
		t.Fatalf("stored record %s", e.Value())
	}
	t.Logf("stored record: %s", e.Value())
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Nowhere on disk is a password.
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if bytes.Contains(data, []byte(password(u))) {
				t.Fatalf("%s holds %s's password", path, u)
			}
		}
		return nil
	})
	for _, typ := range []reflect.Type{reflect.TypeFor[Account](), reflect.TypeFor[accountRecord]()} {
		for f := range typ.Fields() {
			if n := strings.ToLower(f.Name + " " + f.Tag.Get("json")); strings.Contains(n, "pass") || strings.Contains(n, "secret") {
				t.Fatalf("%s has a field %s", typ, f.Name)
			}
		}
	}

	s = fileStore(t, dir)
	for _, a := range want {
		got, ok := s.Account(a.Username)
		if !ok || !sameAccount(got, a) {
			t.Fatalf("after the reopening: %+v %v, want %+v", got, ok, a)
		}
		if !maps.Equal(got.HA1, ha1s(a.Username, testRealm, password(a.Username))) {
			t.Fatalf("%s's hashes changed: %v", a.Username, got.HA1)
		}
	}
	if got, _ := s.Account("alice"); !got.Created.Equal(before.Created) || !got.Updated.Equal(before.Updated) {
		t.Fatalf("times changed: %+v, before %+v", got, before)
	}
	if _, ok := s.Account("gone"); ok {
		t.Fatal("a deleted account came back")
	}
	list, err := s.Accounts(ctx)
	if err != nil || len(list) != 3 || !sameAccount(list[0], want[1]) || !sameAccount(list[1], want[0]) {
		t.Fatalf("Accounts after the reopening: %+v %v", list, err)
	}
}

// TestAccountsBucketAdded: a store initialized before accounts existed
// (no accounts bucket, no "accounts" key in the meta bucket) gets the
// bucket on Open; one whose bucket is missing although it was made is
// damaged: ErrCorrupt, nothing changed.
func TestAccountsBucketAdded(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	s, err := Open(ctx, Config{DataDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, s, []Message{msg("sip:r@x", 1)})
	// As a store of the previous build: no bucket, no marker.
	if err := s.js.DeleteKeyValue(ctx, accountsBucket); err != nil {
		t.Fatal(err)
	}
	if err := s.metaKV.Purge(ctx, accountsKey); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(streamDir(dir, "KV_"+accountsBucket)); !os.IsNotExist(err) {
		t.Fatalf("the bucket is still there: %v", err)
	}

	s, err = Open(ctx, Config{DataDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open of a store older than accounts: %v", err)
	}
	if e, err := s.metaKV.Get(ctx, accountsKey); err != nil || string(e.Value()) != "1" {
		t.Fatalf("the accounts key: %v", err)
	}
	if got, err := s.Last(ctx, "sip:r@x", 10, 0); err != nil || len(got) != 1 {
		t.Fatalf("messages: %d, %v", len(got), err)
	}
	if err := s.CreateAccount(ctx, testAccount("alice")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Damaged: the bucket's stream cannot be loaded.
	if err := os.Remove(filepath.Join(streamDir(dir, "KV_"+accountsBucket), "meta.inf")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := Open(ctx, Config{DataDir: dir, Logger: testLogger(t)})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), accountsBucket) {
			t.Fatalf("Open with the accounts bucket damaged: %v", err)
		}
		t.Logf("Open: %v", err)
	}
}

// TestAccountsURL: two stores on one external server (as two parleyd, or
// parleyd and the CLI): what one writes the other's Account sees within a
// bounded wait. The server goes away: Account answers from memory, writes
// fail with ErrUnavailable; it comes back (same port and data): the watch
// is taken up again; it comes back empty: the accounts are gone there too.
func TestAccountsURL(t *testing.T) {
	dir := t.TempDir()
	ext, port := startExternal(t, dir, 0)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	a := open(t, Config{Mode: ModeURL, URL: url})
	b := open(t, Config{Mode: ModeURL, URL: url})
	ctx := ctxT(t)

	seen := func(s *Store, what string, cond func(Account, bool) bool, user string) {
		t.Helper()
		start := time.Now()
		waitFor(t, 2*time.Second, what, func() bool { return cond(s.Account(user)) })
		t.Logf("%s: after %v", what, time.Since(start).Round(time.Microsecond))
	}
	present := func(want Account) func(Account, bool) bool {
		return func(got Account, ok bool) bool { return ok && sameAccount(got, want) }
	}
	absent := func(_ Account, ok bool) bool { return !ok }

	alice := testAccount("alice")
	if err := b.CreateAccount(ctx, alice); err != nil {
		t.Fatal(err)
	}
	seen(a, "created by the other store", present(alice), "alice")
	alice.HA1 = ha1s("alice", testRealm, "another")
	alice.Display = "Alice"
	if err := b.PutAccount(ctx, alice); err != nil {
		t.Fatal(err)
	}
	seen(a, "replaced by the other store", present(alice), "alice")
	if err := a.CreateAccount(ctx, testAccount("ALICE")); !errors.Is(err, ErrExists) {
		t.Fatalf("a case variant of the other store's account: %v", err)
	}
	if err := b.CreateAccount(ctx, testAccount("bob")); err != nil {
		t.Fatal(err)
	}
	seen(a, "bob created", present(testAccount("bob")), "bob")
	if err := b.DeleteAccount(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	seen(a, "deleted by the other store", absent, "bob")

	// Two stores racing to create one name: one wins.
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} {
		wg.Go(func() { errs[i] = s.CreateAccount(ctx, testAccount([]string{"carol", "Carol"}[i])) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), ErrExists) {
		t.Fatalf("racing stores: %v", errs)
	}

	// The server goes away: memory answers, writes fail.
	loads := a.acc.loads.Load()
	stopExternal(ext)
	waitFor(t, 5*time.Second, "unavailable", func() bool { return !a.Available() && !b.Available() })
	if got, ok := a.Account("alice"); !ok || !sameAccount(got, alice) {
		t.Fatal("Account while the server is down")
	}
	if err := a.CreateAccount(ctx, testAccount("dave")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("CreateAccount while down: %v", err)
	}
	if _, err := a.Accounts(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Accounts while down: %v", err)
	}

	// Back with its data: the watch is taken up again.
	ext, _ = startExternal(t, dir, port)
	waitFor(t, 15*time.Second, "available again", func() bool { return a.Available() && b.Available() })
	waitFor(t, 5*time.Second, "accounts read again", func() bool { return a.acc.loads.Load() > loads })
	if got, ok := a.Account("alice"); !ok || !sameAccount(got, alice) {
		t.Fatal("alice after the restart")
	}
	if err := b.CreateAccount(ctx, testAccount("erin")); err != nil {
		t.Fatal(err)
	}
	seen(a, "created after the restart", present(testAccount("erin")), "erin")
	if err := b.DeleteAccount(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	seen(a, "deleted after the restart", absent, "alice")

	// Back empty: nothing there, and it goes on.
	loads = a.acc.loads.Load()
	stopExternal(ext)
	waitFor(t, 5*time.Second, "unavailable", func() bool { return !a.Available() })
	startExternal(t, t.TempDir(), port)
	waitFor(t, 15*time.Second, "available again", func() bool { return a.Available() && b.Available() })
	waitFor(t, 5*time.Second, "accounts read again", func() bool { return a.acc.loads.Load() > loads })
	if _, ok := a.Account("erin"); ok {
		t.Fatal("an account of the lost server still in memory")
	}
	// b may still be setting the server up again.
	waitFor(t, 5*time.Second, "create on the new server", func() bool { return b.CreateAccount(ctx, testAccount("frank")) == nil })
	seen(a, "created on the new server", present(testAccount("frank")), "frank")
}

// TestAccountsClose: Close ends the watch with the rest (TestMain checks
// that no goroutine is left), twice is harmless, and writes after it fail
// with ErrClosed.
func TestAccountsClose(t *testing.T) {
	s, err := Open(ctxT(t), Config{Mode: ModeMemory, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 { // more than the watch's channel holds
		key, _ := accountKey(fmt.Sprint("u", i))
		a := testAccount(fmt.Sprint("u", i))
		data, _, _ := accountRecordOf(&a, time.Now(), time.Now())
		s.accountsKV.Put(ctxT(t), key, data)
	}
	start := time.Now()
	for range 2 {
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := s.CreateAccount(ctxT(t), testAccount("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("CreateAccount after Close: %v", err)
	}
	if _, err := s.Accounts(ctxT(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Accounts after Close: %v", err)
	}
}

// BenchmarkAccountLookup: Account, the SIP hot path, among 1,000
// accounts: from one goroutine, and from all (the read lock shared).
func BenchmarkAccountLookup(b *testing.B) {
	s := open(b, Config{Mode: ModeMemory})
	const n = 1000
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("user%04d", i)
		if err := s.CreateAccount(context.Background(), testAccount(names[i])); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := s.Account(names[i%n]); !ok {
				b.Fatal("missing")
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok := s.Account(names[i%n]); !ok {
					b.Error("missing")
					return
				}
				i++
			}
		})
	})
}
