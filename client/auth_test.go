package client

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/store/storetest"
	"github.com/parley-im/parley/msrp"
)

// accountServer starts a parleyd on a file store in a temporary
// directory whose account is alice ("wonderland"): sip:alice@127.0.0.1,
// in the domain of server.host.
func accountServer(t *testing.T, mutate func(*config.Config)) (*server.Server, func()) {
	t.Helper()
	dir := t.TempDir()
	return startServer(t, func(c *config.Config) {
		c.Store.Mode, c.Server.DataDir = config.StoreFile, dir
		storetest.SeedAccount(t, dir, "alice", c.Server.Host, "wonderland")
		if mutate != nil {
			mutate(c)
		}
	})
}

// TestJoinWithPassword: an account joins with its password (the INVITE,
// then the roster's SUBSCRIBE, each challenged once), registers its
// nickname, which a guest then cannot take; without the password, or
// with a wrong one, the account's URI is refused (401, 403); a guest can
// register nothing.
func TestJoinWithPassword(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, stop := accountServer(t, nil)
	defer stop()
	ctx := testCtx(t)
	room := roomURI(srv, "tcp", "lobby")

	o := opts(t, "alice", "tcp")
	o.From, o.Password = "sip:alice@127.0.0.1", "wonderland"
	alice, err := Join(ctx, room, o)
	if err != nil {
		t.Fatalf("alice with her password: %v", err)
	}
	defer alice.Leave(ctx)
	if err := alice.RegisterNickname(ctx, "alice"); err != nil {
		t.Fatalf("RegisterNickname: %v", err)
	}

	bob, err := Join(ctx, room, opts(t, "bob", "tcp")) // a guest
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Leave(ctx)
	var se *msrp.StatusError
	if err := bob.SetNickname(ctx, "ALICE"); !errors.As(err, &se) || se.Code != msrp.StatusNicknameInUse {
		t.Errorf("a guest taking alice's registered nickname: %v, want 425", err)
	}
	if err := bob.RegisterNickname(ctx, "bobby"); !errors.As(err, &se) || se.Code != msrp.StatusForbidden {
		t.Errorf("a guest registering: %v, want 403", err)
	}
	// alice's roster came (its SUBSCRIBE was challenged, then answered).
	deadline := time.Now().Add(5 * time.Second)
	for alice.RosterErr() != nil || len(alice.Roster()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("alice has no roster: %v", alice.RosterErr())
		}
		time.Sleep(10 * time.Millisecond)
	}

	for _, tc := range []struct {
		password string
		code     int
	}{{"", 401}, {"looking-glass", 403}} {
		o := opts(t, "alice", "tcp")
		o.From, o.Password = "sip:alice@127.0.0.1", tc.password
		_, err := Join(ctx, room, o)
		var sipErr *SIPError
		if !errors.As(err, &sipErr) || sipErr.Code != tc.code {
			t.Errorf("alice with password %q: %v, want %d", tc.password, err, tc.code)
		}
	}
}
