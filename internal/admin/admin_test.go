package admin

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/parley-im/parley/internal/servertest"
)

const testToken = "s3cret-token"

// testServer is a Server serving on 127.0.0.1 for one test.
type testServer struct {
	*Server
	fake   *fakeBackend
	logs   *servertest.LogBuffer
	base   string
	client *http.Client
	token  string
}

// start runs New and Serve with cfg over fake; the cleanup shuts it down
// and checks Serve returned nil.
func start(t *testing.T, cfg Config, fake *fakeBackend) *testServer {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	logs := &servertest.LogBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if fake == nil {
		fake = newFake()
	}
	s, err := New(cfg, fake)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	tr := &http.Transport{}
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	ts := &testServer{
		Server: s, fake: fake, logs: logs, token: cfg.Token,
		base:   scheme + "://" + s.Addr(),
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
	}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve after Shutdown = %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return ts
}

// answer is a response with its body read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as a JSON object, checking the Content-Type.
func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json (body %s)", ct, a.body)
	}
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", a.body, err)
	}
	return m
}

// wantError checks a JSON error answer with status and returns its
// message.
func (a answer) wantError(t *testing.T, status int) string {
	t.Helper()
	if a.status != status {
		t.Errorf("status = %d, want %d (body %s)", a.status, status, a.body)
	}
	m := a.json(t)
	msg, ok := m["error"].(string)
	if !ok || msg == "" {
		t.Errorf("body %s has no \"error\" string", a.body)
	}
	return msg
}

func (ts *testServer) do(t *testing.T, method, path string, body io.Reader) answer {
	t.Helper()
	return ts.doToken(t, method, path, body, ts.token)
}

func (ts *testServer) doToken(t *testing.T, method, path string, body io.Reader, token string) answer {
	t.Helper()
	req, err := http.NewRequest(method, ts.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func str(s string) io.Reader { return strings.NewReader(s) }

func TestHealthz(t *testing.T) {
	ts := start(t, Config{}, nil)
	a := ts.do(t, "GET", "/healthz", nil)
	if a.status != 200 || a.json(t)["status"] != "ok" {
		t.Errorf("GET /healthz = %d %s", a.status, a.body)
	}
}

func TestReadyz(t *testing.T) {
	ts := start(t, Config{}, nil)
	a := ts.do(t, "GET", "/readyz", nil)
	if a.status != 200 || a.json(t)["status"] != "ready" {
		t.Errorf("GET /readyz = %d %s", a.status, a.body)
	}

	ts.fake.mu.Lock()
	ts.fake.problems = []string{"store: unavailable", "sip_tcp: not serving"}
	ts.fake.mu.Unlock()
	a = ts.do(t, "GET", "/readyz", nil)
	if a.status != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", a.status)
	}
	m := a.json(t)
	if m["status"] != "not ready" {
		t.Errorf("status field = %v", m["status"])
	}
	want := []any{"store: unavailable", "sip_tcp: not serving"}
	if !reflect.DeepEqual(m["problems"], want) {
		t.Errorf("problems = %v, want %v", m["problems"], want)
	}
}

func TestAuth(t *testing.T) {
	ts := start(t, Config{Token: testToken}, nil)

	for _, path := range []string{"/api/v1/server", "/api/v1/rooms", "/metrics", "/debug/pprof/", "/nowhere"} {
		a := ts.doToken(t, "GET", path, nil, "")
		a.wantError(t, http.StatusUnauthorized)
		if got := a.header.Get("WWW-Authenticate"); got != `Bearer realm="parleyd"` {
			t.Errorf("GET %s without token: WWW-Authenticate = %q", path, got)
		}
		a = ts.doToken(t, "GET", path, nil, "wrong-token")
		a.wantError(t, http.StatusUnauthorized)
		if got := a.header.Get("WWW-Authenticate"); got != `Bearer realm="parleyd"` {
			t.Errorf("GET %s with a wrong token: WWW-Authenticate = %q", path, got)
		}
	}
	// A prefix of the token, and other schemes, are no better.
	for _, h := range []string{"Bearer " + testToken[:4], "Basic " + testToken, testToken, "Bearer"} {
		req, _ := http.NewRequest("GET", ts.base+"/api/v1/rooms", nil)
		req.Header.Set("Authorization", h)
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", h, resp.StatusCode)
		}
	}
	// A mutation without the token does not reach the Backend.
	ts.doToken(t, "DELETE", "/api/v1/rooms/lobby", nil, "").wantError(t, http.StatusUnauthorized)
	if c := ts.fake.Calls(); len(c) != 0 {
		t.Errorf("calls without a token: %v", c)
	}

	// Health checks need none.
	for _, path := range []string{"/healthz", "/readyz"} {
		if a := ts.doToken(t, "GET", path, nil, ""); a.status != 200 {
			t.Errorf("GET %s without token = %d, want 200", path, a.status)
		}
	}
	// With it, everything answers; the scheme is case-insensitive.
	if a := ts.do(t, "GET", "/api/v1/rooms", nil); a.status != 200 {
		t.Errorf("with the token: %d %s", a.status, a.body)
	}
	req, _ := http.NewRequest("GET", ts.base+"/api/v1/server", nil)
	req.Header.Set("Authorization", "bearer "+testToken)
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf(`"bearer" scheme: status %d`, resp.StatusCode)
	}
}

func TestServerInfo(t *testing.T) {
	ts := start(t, Config{}, nil)
	a := ts.do(t, "GET", "/api/v1/server", nil)
	if a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	m := a.json(t)
	for k, want := range map[string]any{
		"version": "1.2.3", "revision": "abc123", "go": "go1.26",
		"started": "2026-01-02T03:04:05Z", "uptime_seconds": 42.0,
		"config_source": "embedded defaults", "trace": false, "rooms": 1.0,
	} {
		if m[k] != want {
			t.Errorf("%s = %#v, want %#v", k, m[k], want)
		}
	}
	if l, _ := m["listeners"].(map[string]any); l["admin"] != "127.0.0.1:9560" {
		t.Errorf("listeners = %v", m["listeners"])
	}
}

func TestListRooms(t *testing.T) {
	fake := newFake()
	fake.rooms["empty"] = Room{Name: "empty", URI: "sip:empty@chat.example.com", Policy: json.RawMessage(`{}`)}
	ts := start(t, Config{}, fake)
	a := ts.do(t, "GET", "/api/v1/rooms", nil)
	if a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	var got RoomList
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Rooms) != 2 || got.Rooms[0].Name != "empty" || got.Rooms[1].Name != "lobby" {
		t.Fatalf("rooms = %+v", got.Rooms)
	}
	if !strings.Contains(string(a.body), `"participants":[]`) {
		t.Errorf("a room without participants should list [] : %s", a.body)
	}
	lobby := got.Rooms[1]
	if lobby.URI != "sip:lobby@chat.example.com" || !lobby.Configured || lobby.Subscriptions != 1 ||
		len(lobby.Participants) != 1 || lobby.Participants[0].Nickname != "alice" ||
		string(lobby.Policy) != `{"subject":"Welcome","delete_when":"never"}` {
		t.Errorf("lobby = %+v", lobby)
	}

	// No room at all: an empty list, not null.
	ts2 := start(t, Config{}, &fakeBackend{rooms: map[string]Room{}})
	if a := ts2.do(t, "GET", "/api/v1/rooms", nil); string(bytes.TrimSpace(a.body)) != `{"rooms":[]}` {
		t.Errorf("no rooms: %s", a.body)
	}
}

func TestGetRoom(t *testing.T) {
	fake := newFake()
	fake.rooms["a b"] = Room{Name: "a b"}
	ts := start(t, Config{}, fake)
	a := ts.do(t, "GET", "/api/v1/rooms/lobby", nil)
	if a.status != 200 || a.json(t)["name"] != "lobby" {
		t.Errorf("GET lobby = %d %s", a.status, a.body)
	}
	// The name is percent-decoded.
	if a := ts.do(t, "GET", "/api/v1/rooms/a%20b", nil); a.status != 200 || a.json(t)["name"] != "a b" {
		t.Errorf("GET a%%20b = %d %s", a.status, a.body)
	}
	msg := ts.do(t, "GET", "/api/v1/rooms/nosuch", nil).wantError(t, http.StatusNotFound)
	if msg != `room "nosuch" not found` {
		t.Errorf("message = %q", msg)
	}
	// No name: no such path.
	ts.do(t, "GET", "/api/v1/rooms/", nil).wantError(t, http.StatusNotFound)
}

func TestCreateRoom(t *testing.T) {
	ts := start(t, Config{}, nil)
	body := `{"name":"ops", "subject":"On call","history":200}`
	a := ts.do(t, "POST", "/api/v1/rooms", str(body))
	if a.status != http.StatusCreated {
		t.Fatalf("status %d %s", a.status, a.body)
	}
	if m := a.json(t); m["name"] != "ops" || m["uri"] != "sip:ops@chat.example.com" {
		t.Errorf("answer %s", a.body)
	}
	if loc := a.header.Get("Location"); loc != "/api/v1/rooms/ops" {
		t.Errorf("Location = %q", loc)
	}
	if c := ts.fake.lastCall(); c.Method != "CreateRoom" || c.Raw != body {
		t.Errorf("backend got %+v, want the body unchanged", c)
	}

	msg := ts.do(t, "POST", "/api/v1/rooms", str(`{"name":"ops"}`)).wantError(t, http.StatusConflict)
	if !strings.Contains(msg, `"ops"`) {
		t.Errorf("409 message %q does not name the room", msg)
	}

	n := len(ts.fake.Calls())
	for _, bad := range []string{`{"name":`, `not json`, ``, `{"name":"x"} trailing`} {
		ts.do(t, "POST", "/api/v1/rooms", str(bad)).wantError(t, http.StatusBadRequest)
	}
	for _, notObject := range []string{`["name","x"]`, `"ops"`, `42`, `null`} {
		ts.do(t, "POST", "/api/v1/rooms", str(notObject)).wantError(t, http.StatusBadRequest)
	}
	if len(ts.fake.Calls()) != n {
		t.Errorf("refused bodies reached the backend: %v", ts.fake.Calls()[n:])
	}

	ts.fake.mu.Lock()
	ts.fake.invalid = []string{"room.history: must be 0 or more", "room.delete_when: unknown value \"sometimes\""}
	ts.fake.mu.Unlock()
	a = ts.do(t, "POST", "/api/v1/rooms", str(`{"name":"x","history":-1,"delete_when":"sometimes"}`))
	a.wantError(t, http.StatusUnprocessableEntity)
	if errs := a.json(t)["errors"]; !reflect.DeepEqual(errs, []any{"room.history: must be 0 or more", "room.delete_when: unknown value \"sometimes\""}) {
		t.Errorf("errors = %v", errs)
	}
	// A single problem is the message.
	ts.fake.mu.Lock()
	ts.fake.invalid = []string{"room.history: must be 0 or more"}
	ts.fake.mu.Unlock()
	msg = ts.do(t, "POST", "/api/v1/rooms", str(`{"name":"x","history":-1}`)).wantError(t, http.StatusUnprocessableEntity)
	if msg != "room.history: must be 0 or more" {
		t.Errorf("message = %q", msg)
	}
}

func TestBodyTooLarge(t *testing.T) {
	ts := start(t, Config{}, nil)
	big := `{"name":"big","subject":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	// With a Content-Length.
	ts.do(t, "POST", "/api/v1/rooms", str(big)).wantError(t, http.StatusRequestEntityTooLarge)
	// Chunked (no length known in advance), on a JSON-decoded body.
	kick := `{"uri":"sip:alice@example.com","reason":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	ts.do(t, "POST", "/api/v1/rooms/lobby/kick", io.MultiReader(str(kick))).wantError(t, http.StatusRequestEntityTooLarge)
	// And a PATCH.
	ts.do(t, "PATCH", "/api/v1/rooms/lobby", io.MultiReader(str(big))).wantError(t, http.StatusRequestEntityTooLarge)
	if c := ts.fake.Calls(); len(c) != 0 {
		t.Errorf("bodies too large reached the backend: %d calls", len(c))
	}
	// Just under the limit is fine.
	ok := `{"name":"ok","subject":"` + strings.Repeat("x", MaxBodyBytes-40) + `"}`
	if a := ts.do(t, "POST", "/api/v1/rooms", str(ok)); a.status != http.StatusCreated {
		t.Errorf("a body under 1 MiB: %d %.200s", a.status, a.body)
	}
}

func TestPatchRoom(t *testing.T) {
	ts := start(t, Config{}, nil)
	patch := "{ \"max_participants\" : 20,\n \"history_ttl\":\"24h\" }"
	a := ts.do(t, "PATCH", "/api/v1/rooms/lobby", str(patch))
	if a.status != 200 || a.json(t)["name"] != "lobby" {
		t.Fatalf("PATCH = %d %s", a.status, a.body)
	}
	if c := ts.fake.lastCall(); c.Method != "ReconfigureRoom" || c.Room != "lobby" || c.Raw != patch {
		t.Errorf("backend got %+v, want the patch unchanged", c)
	}
	ts.do(t, "PATCH", "/api/v1/rooms/nosuch", str(`{"history":1}`)).wantError(t, http.StatusNotFound)
	ts.do(t, "PATCH", "/api/v1/rooms/lobby", str(`{"history":`)).wantError(t, http.StatusBadRequest)
	ts.do(t, "PATCH", "/api/v1/rooms/lobby", str(`[{"history":1}]`)).wantError(t, http.StatusBadRequest)

	ts.fake.mu.Lock()
	ts.fake.invalid = []string{"room.max_participants: must be 0 or more", "room.colour: unknown key"}
	ts.fake.mu.Unlock()
	a = ts.do(t, "PATCH", "/api/v1/rooms/lobby", str(`{"max_participants":-1,"colour":"red"}`))
	a.wantError(t, http.StatusUnprocessableEntity)
	if errs, _ := a.json(t)["errors"].([]any); len(errs) != 2 {
		t.Errorf("errors = %v", errs)
	}
}

func TestDeleteRoom(t *testing.T) {
	ts := start(t, Config{}, nil)
	a := ts.do(t, "DELETE", "/api/v1/rooms/lobby?reason=closed%20for%20good", nil)
	if a.status != 200 {
		t.Fatalf("DELETE = %d %s", a.status, a.body)
	}
	if m := a.json(t); m["removed"] != 1.0 || m["subscriptions"] != 1.0 {
		t.Errorf("answer %s", a.body)
	}
	if c := ts.fake.lastCall(); c.Method != "DeleteRoom" || c.Room != "lobby" || c.Reason != "closed for good" {
		t.Errorf("backend got %+v", c)
	}
	msg := ts.do(t, "DELETE", "/api/v1/rooms/lobby", nil).wantError(t, http.StatusNotFound)
	if msg != `room "lobby" not found` {
		t.Errorf("message %q", msg)
	}
	if c := ts.fake.lastCall(); c.Reason != "" {
		t.Errorf("no ?reason=: backend got reason %q", c.Reason)
	}
}

func TestKick(t *testing.T) {
	ts := start(t, Config{}, nil)
	a := ts.do(t, "POST", "/api/v1/rooms/lobby/kick", str(`{"uri":"sip:alice@example.com","reason":"spam"}`))
	if a.status != 200 {
		t.Fatalf("kick = %d %s", a.status, a.body)
	}
	if m := a.json(t); m["room"] != "lobby" || m["kicked"] != "sip:alice@example.com" {
		t.Errorf("answer %s", a.body)
	}
	if c := ts.fake.lastCall(); c != (call{Method: "Kick", Room: "lobby", URI: "sip:alice@example.com", Reason: "spam"}) {
		t.Errorf("backend got %+v", c)
	}

	// alice is gone now: a participant not there, then a room not there.
	msg := ts.do(t, "POST", "/api/v1/rooms/lobby/kick", str(`{"uri":"sip:alice@example.com"}`)).wantError(t, http.StatusNotFound)
	if !strings.Contains(msg, "participant") {
		t.Errorf("participant 404 message %q", msg)
	}
	msg = ts.do(t, "POST", "/api/v1/rooms/nosuch/kick", str(`{"uri":"sip:alice@example.com"}`)).wantError(t, http.StatusNotFound)
	if msg != `room "nosuch" not found` {
		t.Errorf("room 404 message %q", msg)
	}

	n := len(ts.fake.Calls())
	for _, bad := range []string{
		`{"uri":"sip:bob@example.com","reason":"spam","ban":true}`, // unknown key
		`{"uri":`,                 // not JSON
		`["sip:bob@example.com"]`, // not an object
		`{"uri":42}`,              // wrong type
		`{"reason":"no uri"}`,     // uri missing
		`{"uri":"sip:bob@example.com"}{}`,
		``,
	} {
		msg := ts.do(t, "POST", "/api/v1/rooms/lobby/kick", str(bad)).wantError(t, http.StatusBadRequest)
		if strings.Contains(bad, "ban") && msg != `body: unknown key "ban"` {
			t.Errorf("unknown key message %q", msg)
		}
	}
	if len(ts.fake.Calls()) != n {
		t.Errorf("refused kicks reached the backend: %v", ts.fake.Calls()[n:])
	}
}

func TestReload(t *testing.T) {
	ts := start(t, Config{}, nil)
	a := ts.do(t, "POST", "/api/v1/reload", nil)
	if a.status != 200 || string(bytes.TrimSpace(a.body)) != `{"changes":[]}` {
		t.Errorf("reload, no change = %d %s", a.status, a.body)
	}
	ts.fake.mu.Lock()
	ts.fake.changes = []string{"room lobby: subject changed", "trace: on"}
	ts.fake.mu.Unlock()
	a = ts.do(t, "POST", "/api/v1/reload", nil)
	if errs := a.json(t)["changes"]; !reflect.DeepEqual(errs, []any{"room lobby: subject changed", "trace: on"}) {
		t.Errorf("changes = %v", errs)
	}

	for _, c := range []struct {
		err    error
		status int
	}{
		{&InvalidError{Problems: []string{"rooms.history: must be 0 or more", "sip.udp: bad address"}}, 422},
		{ErrNoConfigFile, 409},
		{ErrShuttingDown, 503},
		{errors.New("disk on fire"), 500},
	} {
		ts.fake.mu.Lock()
		ts.fake.reloadErr = c.err
		ts.fake.mu.Unlock()
		a := ts.do(t, "POST", "/api/v1/reload", nil)
		msg := a.wantError(t, c.status)
		switch c.status {
		case 422:
			if errs, _ := a.json(t)["errors"].([]any); len(errs) != 2 {
				t.Errorf("422 errors = %v", a.json(t)["errors"])
			}
		case 500:
			if msg != "internal error" {
				t.Errorf("500 message %q leaks the error", msg)
			}
			if !strings.Contains(ts.logs.String(), "disk on fire") {
				t.Error("the internal error was not logged")
			}
		}
	}
}

func TestTrace(t *testing.T) {
	ts := start(t, Config{}, nil)
	if a := ts.do(t, "GET", "/api/v1/trace", nil); string(bytes.TrimSpace(a.body)) != `{"enabled":false}` {
		t.Errorf("GET trace = %d %s", a.status, a.body)
	}
	a := ts.do(t, "PUT", "/api/v1/trace", str(`{"enabled":true}`))
	if a.status != 200 || a.json(t)["enabled"] != true {
		t.Errorf("PUT trace = %d %s", a.status, a.body)
	}
	if !ts.fake.Trace() {
		t.Error("the trace was not switched on")
	}
	if a := ts.do(t, "GET", "/api/v1/trace", nil); a.json(t)["enabled"] != true {
		t.Errorf("GET trace after PUT = %s", a.body)
	}
	for _, bad := range []string{`{"enabled":true,"raw":true}`, `{"enabled":"yes"}`, `{}`, `true`, `{"enabled":`} {
		ts.do(t, "PUT", "/api/v1/trace", str(bad)).wantError(t, http.StatusBadRequest)
	}
	if !ts.fake.Trace() {
		t.Error("a refused PUT changed the trace")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	ts := start(t, Config{Token: testToken}, nil)
	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/api/v1/rooms", "GET, HEAD, POST"},
		{"POST", "/api/v1/rooms/lobby", "DELETE, GET, HEAD, PATCH"},
		{"GET", "/api/v1/rooms/lobby/kick", "POST"},
		{"GET", "/api/v1/reload", "POST"},
		{"POST", "/api/v1/trace", "GET, HEAD, PUT"},
		{"PUT", "/api/v1/server", "GET, HEAD"},
		{"POST", "/healthz", "GET, HEAD"},
	} {
		a := ts.do(t, c.method, c.path, str(`{}`))
		msg := a.wantError(t, http.StatusMethodNotAllowed)
		if got := a.header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow = %q, want %q", c.method, c.path, got, c.allow)
		}
		if !strings.Contains(msg, c.method) {
			t.Errorf("%s %s: message %q", c.method, c.path, msg)
		}
	}
	if c := ts.fake.Calls(); len(c) != 0 {
		t.Errorf("405s reached the backend: %v", c)
	}
}

func TestNotFound(t *testing.T) {
	ts := start(t, Config{}, nil)
	for _, path := range []string{"/", "/api", "/api/v1/nosuch", "/api/v1/rooms/lobby/nosuch", "/metrics"} {
		ts.do(t, "GET", path, nil).wantError(t, http.StatusNotFound)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_test_messages_total", Help: "Messages."})
	reg.MustRegister(c)
	c.Add(3)
	ts := start(t, Config{Gatherer: reg, Token: testToken}, nil)
	ts.doToken(t, "GET", "/metrics", nil, "").wantError(t, http.StatusUnauthorized)

	a := ts.do(t, "GET", "/metrics", nil)
	if a.status != 200 {
		t.Fatalf("GET /metrics = %d %s", a.status, a.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(a.body))
	if err != nil {
		t.Fatalf("parsing %q: %v", a.body, err)
	}
	f, ok := families["parley_test_messages_total"]
	if !ok || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetCounter().GetValue() != 3 {
		t.Errorf("families = %v", families)
	}
}

func TestPprof(t *testing.T) {
	ts := start(t, Config{Token: testToken}, nil)
	ts.doToken(t, "GET", "/debug/pprof/", nil, "").wantError(t, http.StatusUnauthorized)
	a := ts.do(t, "GET", "/debug/pprof/", nil)
	if a.status != 200 || !strings.Contains(string(a.body), "goroutine") {
		t.Errorf("pprof index = %d %.200s", a.status, a.body)
	}
	if a := ts.do(t, "GET", "/debug/pprof/goroutine?debug=1", nil); a.status != 200 {
		t.Errorf("goroutine profile = %d", a.status)
	}
	if a := ts.do(t, "GET", "/debug/pprof/cmdline", nil); a.status != 200 {
		t.Errorf("cmdline = %d", a.status)
	}
	// A CPU profile of a second: not refused for the write timeout.
	if testing.Short() {
		return
	}
	if a := ts.do(t, "GET", "/debug/pprof/profile?seconds=1", nil); a.status != 200 || len(a.body) == 0 {
		t.Errorf("CPU profile = %d %.200s", a.status, a.body)
	}
}

func TestPprofDeadlines(t *testing.T) {
	// A 40-second profile must not be refused for exceeding a write
	// timeout (net/http/pprof checks http.Server.WriteTimeout).
	ts := start(t, Config{}, nil)
	if ts.srv.WriteTimeout != 0 {
		t.Fatalf("http.Server.WriteTimeout = %v: pprof refuses profiles that long", ts.srv.WriteTimeout)
	}
	if ts.srv.ReadHeaderTimeout == 0 || ts.srv.ReadTimeout == 0 || ts.srv.IdleTimeout == 0 || ts.srv.MaxHeaderBytes == 0 {
		t.Errorf("timeouts unset: %+v", ts.srv)
	}
}

func TestNewRefusesNonLoopbackWithoutToken(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		s, err := New(Config{Listen: addr}, newFake())
		if err == nil {
			s.Shutdown(context.Background())
			t.Errorf("New(%q) without token: no error", addr)
		} else if !strings.Contains(err.Error(), "not a loopback address") || !strings.Contains(err.Error(), "admin.token") {
			t.Errorf("New(%q): %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:0", ":0"} {
		s, err := New(Config{Listen: addr, Token: testToken}, newFake())
		if err != nil {
			t.Errorf("New(%q) with a token: %v", addr, err)
			continue
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}
	addrs := []string{"127.0.0.1:0", "localhost:0"}
	if ln, err := net.Listen("tcp", "[::1]:0"); err == nil {
		ln.Close()
		addrs = append(addrs, "[::1]:0")
	}
	for _, addr := range addrs {
		s, err := New(Config{Listen: addr}, newFake())
		if err != nil {
			t.Errorf("New(%q) without token: %v", addr, err)
			continue
		}
		s.Shutdown(context.Background())
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "localhost": true, "LocalHost": true,
		"": false, "0.0.0.0": false, "::": false, "192.168.1.1": false, "example.com": false,
		"localhost.example.com": false, "fe80::1%lo": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestNewAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = New(Config{Listen: ln.Addr().String()}, newFake())
	if err == nil {
		t.Fatal("New on a port in use: no error")
	}
	if !strings.HasPrefix(err.Error(), "admin listener: listen tcp ") || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error = %v", err)
	}
	if _, err := New(Config{Listen: "nonsense"}, newFake()); err == nil {
		t.Error("New with a malformed address: no error")
	}
}

// selfSigned makes a TLS certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "parleyd admin test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	ts := start(t, Config{Listen: "127.0.0.1:0", Token: testToken, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}, nil)
	ts.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
	ts.client.Transport.(*http.Transport).ForceAttemptHTTP2 = true

	req, _ := http.NewRequest("GET", ts.base+"/api/v1/rooms", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || !strings.Contains(string(body), `"lobby"`) {
		t.Errorf("HTTPS GET = %d (TLS %v) %s", resp.StatusCode, resp.TLS != nil, body)
	}
	// JSON errors over HTTPS too (HTTP/2 when negotiated).
	ts.doToken(t, "GET", "/api/v1/rooms", nil, "").wantError(t, http.StatusUnauthorized)
	ts.do(t, "DELETE", "/api/v1/trace", nil).wantError(t, http.StatusMethodNotAllowed)

	// Plain HTTP to it does not get the API.
	plain, err := http.Get("http://" + ts.Addr() + "/healthz")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode == 200 {
			t.Error("plain HTTP served on the TLS listener")
		}
	}

	// A TLS configuration without a certificate is refused.
	if _, err := New(Config{Listen: "127.0.0.1:0", TLS: &tls.Config{}}, newFake()); err == nil {
		t.Error("New with a certificate-less TLS config: no error")
	}
}

func TestShutdown(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0"}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	// Serving.
	waitFor(t, func() bool {
		resp, err := http.Get("http://" + s.Addr() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Error("the listener still accepts after Shutdown")
	}
}

func TestShutdownBeforeServe(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0"}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := s.Serve(); err != nil {
		t.Errorf("Serve after Shutdown = %v, want nil", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the listener still accepts after Shutdown")
	}
}

func TestShutdownDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("streams a profile")
	}
	s, err := New(Config{Listen: "127.0.0.1:0"}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	// A 30-second CPU profile keeps a request active.
	got := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr() + "/debug/pprof/profile?seconds=30")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		got <- err
	}()
	time.Sleep(300 * time.Millisecond) // let the profile start
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err = s.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a request active = %v, want the deadline", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("Shutdown took %v past its deadline", d)
	}
	if err2 := s.Shutdown(context.Background()); err2 != err {
		t.Errorf("second Shutdown = %v, want the first's %v", err2, err)
	}
	select {
	case <-got: // cut off
	case <-time.After(5 * time.Second):
		t.Error("the active request was not closed at the deadline")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestAuditLog(t *testing.T) {
	ts := start(t, Config{}, nil)
	ts.do(t, "PUT", "/api/v1/trace", str(`{"enabled":true}`))
	ts.do(t, "DELETE", "/api/v1/rooms/lobby?reason=closed", nil)
	ts.do(t, "POST", "/api/v1/rooms", str(`{"name":"ops"}`))
	ts.do(t, "PATCH", "/api/v1/rooms/ops", str(`{"history":5}`))
	ts.do(t, "POST", "/api/v1/rooms/ops/kick", str(`{"uri":"sip:x@example.com"}`))
	ts.do(t, "POST", "/api/v1/reload", nil)
	ts.do(t, "GET", "/api/v1/rooms", nil)

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(ts.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	want := []struct {
		msg    string
		status float64
	}{
		{"admin: trace", 200}, {"admin: delete room", 200}, {"admin: create room", 201},
		{"admin: reconfigure room", 200}, {"admin: kick", 404}, {"admin: reload", 200},
	}
	if len(lines) != len(want) {
		t.Fatalf("log lines:\n%s", ts.logs.String())
	}
	for i, w := range want {
		l := lines[i]
		if l["msg"] != w.msg || l["level"] != "INFO" || l["status"] != w.status {
			t.Errorf("line %d = %v, want %s %v", i, l, w.msg, w.status)
		}
		if r, _ := l["remote"].(string); !strings.HasPrefix(r, "127.0.0.1:") {
			t.Errorf("line %d has no remote address: %v", i, l)
		}
	}
	if lines[1]["reason"] != "closed" || lines[1]["room"] != "lobby" {
		t.Errorf("delete line %v", lines[1])
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
