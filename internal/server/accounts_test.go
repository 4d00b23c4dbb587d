package server_test

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icholy/digest"

	"github.com/parley-im/parley/internal/auth"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/internal/store/storetest"
	"github.com/parley-im/parley/internal/switchboard"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
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
	storetest.SeedAccount(t, dir, "alice", realm, "wonderland")
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

// joinAuthenticated joins uri (an account's URI, with password) to
// roomURI over a new SIP TCP connection — challenged, then with SHA-256
// credentials — and binds its MSRP session.
func joinAuthenticated(t *testing.T, srv *server.Server, roomURI, uri, password string) *member {
	t.Helper()
	p := dial(t, srv, "TCP")
	sid := servertest.RandomToken()
	m := &member{sip: p, uri: uri, callID: servertest.RandomToken(), self: msrp.URI{Host: "127.0.0.1", Port: 9, SessionID: sid, Transport: "tcp"}}
	offer := servertest.Offer(9, sid)
	res := expect(t, p, servertest.WithFrom(p.Build(servertest.Req{Method: "INVITE", URI: roomURI, CallID: m.callID, FromTag: "ft", CSeq: 1, Body: offer}), "<"+uri+">"), 401, "")
	chal, err := digest.ParseChallenge(headers(res, "WWW-Authenticate")[0])
	if err != nil {
		t.Fatal(err)
	}
	user := strings.TrimPrefix(uri, "sip:")
	user, _, _ = strings.Cut(user, "@")
	cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: roomURI, Username: user, Password: password, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	req := servertest.WithFrom(p.Build(servertest.Req{Method: "INVITE", URI: roomURI, CallID: m.callID, FromTag: "ft", CSeq: 2,
		Extra: []string{"Authorization: " + cred.String()}, Body: offer}), "<"+uri+">")
	res = expect(t, p, req, 200, "")
	_, tag, _ := strings.Cut(servertest.Header(res, "To"), ";tag=")
	m.tag, _, _ = strings.Cut(tag, ";")
	_, body, _ := strings.Cut(string(res), "\r\n\r\n")
	_, path, _ := strings.Cut(body, "a=path:")
	path, _, _ = strings.Cut(path, "\r\n")
	if m.sw, err = msrp.ParseURI(path); err != nil {
		t.Fatalf("answer path %q: %v", path, err)
	}
	if err := p.Send(servertest.WithFrom(p.Build(servertest.Req{Method: "ACK", URI: roomURI, CallID: m.callID, FromTag: "ft", ToTag: m.tag, CSeq: 2}), "<"+uri+">")); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", srv.Addrs().MSRP)
	if err != nil {
		t.Fatal(err)
	}
	m.bindMSRP(t, c)
	return m
}

// nickname sends a NICKNAME from m (registering it with register) and
// returns the status.
func (m *member) nickname(t *testing.T, nick string, register bool) int {
	t.Helper()
	var opts []msrptest.Option
	if register {
		opts = append(opts, msrptest.WithHeader(switchboard.RegisterHeader, switchboard.RegisterValue))
	}
	req := msrptest.Nickname(m.sw, m.self, nick, opts...)
	m.msrp.Send(req)
	for range 20 {
		got, err := m.msrp.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !got.IsRequest() && got.TID == req.TID {
			return got.Code
		}
	}
	t.Fatal("no answer to NICKNAME")
	return 0
}

// TestOwnedNicknameOverTheWire: alice, authenticated, registers her
// nickname with NICKNAME + Parley-Register; a guest can then take neither
// it nor a look-alike, in any room, also after a restart of parleyd; a
// guest cannot register one (403).
func TestOwnedNicknameOverTheWire(t *testing.T) {
	dir := t.TempDir()
	cfg := loopbackConfig()
	cfg.Store.Mode, cfg.Server.DataDir = config.StoreFile, dir
	realm := cfg.Server.Host
	storetest.SeedAccount(t, dir, "alice", realm, "wonderland")
	start := func() *server.Server {
		srv, err := server.New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		return srv
	}
	srv := start()
	room := "sip:lobby@" + srv.Addrs().SIPTCP
	alice := joinAuthenticated(t, srv, room, "sip:alice@"+realm, "wonderland")
	if code := alice.nickname(t, "Alice", true); code != 200 {
		t.Fatalf("registering alice's nickname: %d", code)
	}
	guest, _ := joinKeeping(t, srv, "sip:lounge@"+srv.Addrs().SIPTCP, "sip:mallory@example.com")
	for _, nick := range []string{"alice", "\u0430lice"} {
		if code := guest.nickname(t, nick, false); code != 425 {
			t.Errorf("a guest taking %q: %d, want 425", nick, code)
		}
	}
	if code := guest.nickname(t, "mallory", true); code != 403 {
		t.Errorf("a guest registering: %d, want 403", code)
	}
	stopServer(srv)

	srv = start()
	t.Cleanup(func() { stopServer(srv) })
	guest, _ = joinKeeping(t, srv, "sip:lobby@"+srv.Addrs().SIPTCP, "sip:mallory@example.com")
	if code := guest.nickname(t, "ALICE", false); code != 425 {
		t.Errorf("after a restart, a guest taking alice: %d, want 425", code)
	}
}

// TestAccountsFile: accounts.file seeds the store at start — an account
// with a password, one with only its SHA-256 hash — and both join; a
// second start with other passwords in the file changes nothing (the
// store wins); a bad file fails the start, saying why.
func TestAccountsFile(t *testing.T) {
	dir := t.TempDir()
	cfg := loopbackConfig()
	cfg.Store.Mode, cfg.Server.DataDir = config.StoreFile, dir
	realm := cfg.Server.Host
	file := filepath.Join(t.TempDir(), "accounts.toml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`[[account]]
name = "alice"
password = "wonderland"

[[account]]
name = "bob"
ha1_sha256 = "` + auth.HA1(auth.SHA256, "bob", realm, "builder") + `"
display = "Bob"
`)
	cfg.Accounts.File = file
	start := func() *server.Server {
		t.Helper()
		srv, err := server.New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		return srv
	}
	srv := start()
	room := "sip:lobby@" + srv.Addrs().SIPTCP
	joinAuthenticated(t, srv, room, "sip:alice@"+realm, "wonderland")
	joinAuthenticated(t, srv, room, "sip:bob@"+realm, "builder")
	stopServer(srv)

	write("[[account]]\nname = \"alice\"\npassword = \"changed\"\n")
	srv = start()
	joinAuthenticated(t, srv, "sip:lobby@"+srv.Addrs().SIPTCP, "sip:alice@"+realm, "wonderland")
	stopServer(srv)

	for _, bad := range []string{"[[account]]\nname = \"carol\"\n", "[[account]]\npassword = \"x\"\n", "[[account]]\nname = \"x\"\npasword = \"typo\"\n", "not toml ["} {
		write(bad)
		if srv, err := server.New(cfg, slog.New(slog.DiscardHandler)); err == nil {
			stopServer(srv)
			t.Errorf("accounts file %q: parleyd started", bad)
		} else if !strings.Contains(err.Error(), "accounts file") {
			t.Errorf("accounts file %q: %v, want an error naming the accounts file", bad, err)
		}
	}
}

// TestAccountsOfAnotherRealm: an account hashed for another realm than
// server.host (the host changed since) cannot log in, and parleyd says so
// at start.
func TestAccountsOfAnotherRealm(t *testing.T) {
	dir := t.TempDir()
	cfg := loopbackConfig()
	cfg.Store.Mode, cfg.Server.DataDir = config.StoreFile, dir
	storetest.SeedAccount(t, dir, "alice", "old.example", "wonderland")
	var logs servertest.LogBuffer
	srv, err := server.New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { stopServer(srv) })
	if !strings.Contains(logs.String(), "accounts hashed for another realm") {
		t.Errorf("no warning at start about alice's realm:\n%s", logs.String())
	}
	p := dial(t, srv, "TCP")
	room := "sip:lobby@" + srv.Addrs().SIPTCP
	alice := "sip:alice@" + cfg.Server.Host
	res := expect(t, p, invite(p, room, alice, "r1@test"), 401, "")
	chal, err := digest.ParseChallenge(headers(res, "WWW-Authenticate")[0])
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: room, Username: "alice", Password: "wonderland", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, p, invite(p, room, alice, "r2@test", "Authorization: "+cred.String()), 403, "")
}
