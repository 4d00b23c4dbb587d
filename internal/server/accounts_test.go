package server_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/icholy/digest"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/internal/store"
)

// headers returns every value of the header field name in msg.
func headers(msg []byte, name string) []string {
	var vs []string
	head, _, _ := strings.Cut(string(msg), "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n")[1:] {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			vs = append(vs, strings.TrimSpace(v))
		}
	}
	return vs
}

// TestAccountsOverTheWire: a parleyd whose store holds the account alice
// (made as parleyd user add makes it) challenges an INVITE and a
// SUBSCRIBE from alice's URI (401, SHA-256 then MD5), admits alice with
// her password (computed by an independent digest client), refuses a
// wrong one (403), and admits a URI that is no account's as a guest.
func TestAccountsOverTheWire(t *testing.T) {
	dir := t.TempDir()
	cfg := loopbackConfig()
	cfg.Store.Mode, cfg.Server.DataDir = config.StoreFile, dir
	realm := cfg.Server.Host
	st, err := server.OpenStore(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = st.CreateAccount(context.Background(), store.Account{Username: "alice", Realm: realm, HA1: map[string]string{
		auth.SHA256: auth.HA1(auth.SHA256, "alice", realm, "wonderland"),
		auth.MD5:    auth.HA1(auth.MD5, "alice", realm, "wonderland"),
	}})
	st.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { stopServer(srv) })

	p := dial(t, srv, "TCP")
	roomURI := "sip:lobby@" + srv.Addrs().SIPTCP
	alice := "sip:alice@" + realm

	res := expect(t, p, invite(p, roomURI, alice, "a1@test"), 401, "")
	chals := headers(res, "WWW-Authenticate")
	if len(chals) != 2 || !strings.Contains(chals[0], "SHA-256") || !strings.Contains(chals[1], "MD5") {
		t.Fatalf("challenges %q: want SHA-256 then MD5", chals)
	}
	chal, err := digest.ParseChallenge(chals[0])
	if err != nil {
		t.Fatal(err)
	}
	authz := func(password string, nc int) string {
		cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: roomURI, Username: "alice", Password: password, Count: nc})
		if err != nil {
			t.Fatal(err)
		}
		return "Authorization: " + cred.String()
	}
	expect(t, p, invite(p, roomURI, alice, "a2@test", authz("looking-glass", 1)), 403, "")
	joinAs(t, p, roomURI, alice, "a3@test", authz("wonderland", 2))

	// Watching is challenged as joining is.
	expect(t, p, servertest.WithFrom(p.Build(servertest.Req{Method: "SUBSCRIBE", URI: roomURI, Extra: []string{"Event: conference", "Accept: application/conference-info+xml", "Expires: 600"}}), alice), 401, "")

	// A URI that is no account's: a guest.
	joinAs(t, p, roomURI, "sip:carol-x1@"+realm, "c1@test")
}
