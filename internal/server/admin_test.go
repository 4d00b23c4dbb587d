package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/parley-im/parley/internal/admin"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/msrp"
)

// startAdminFor serves srv's admin API and metrics on 127.0.0.1:0 and
// returns its base URL.
func startAdminFor(t *testing.T, srv *server.Server) string {
	t.Helper()
	a, err := admin.New(admin.Config{Listen: "127.0.0.1:0", Gatherer: srv.Metrics()}, srv)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve() }()
	t.Cleanup(func() {
		a.Shutdown(t.Context())
		<-done
	})
	return "http://" + a.Addr()
}

// call makes an admin API request and decodes the JSON answer into out
// (when not nil); it returns the status.
func call(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %q", method, url, err, data)
		}
	}
	return res.StatusCode
}

// scrape reads /metrics with Prometheus's own text parser.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// value is the value of the metric of family name whose labels are
// labels (name=value pairs), or -1 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// After a scripted session (two join, one says three things the other
// receives, one leaves, one INVITE to a room name that is too long), the
// metrics hold exactly what happened.
func TestMetricsAfterSession(t *testing.T) {
	cfg := loopbackConfig()
	cfg.Rooms.SystemMessages = false // no notices: every SEND below is one of the script's
	cfg.Rooms.MaxNameBytes = 32
	srv, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer stopServer(srv)
	base := startAdminFor(t, srv)
	roomURI := "sip:metrics@127.0.0.1"

	alice, _ := joinKeeping(t, srv, roomURI, "sip:alice@example.com")
	bob, _ := joinKeeping(t, srv, roomURI, "sip:bob@example.com")
	var sent int
	for i := range 3 {
		s := alice.say(roomURI, fmt.Sprintf("hello %d", i))
		sent += len(s.Bytes())
		alice.expectOK(t, s.TID)
		bob.expectText(t, fmt.Sprintf("hello %d", i))
	}
	bob.leave(t, roomURI)
	p := dial(t, srv, "UDP")
	long := "sip:" + strings.Repeat("x", 40) + "@127.0.0.1"
	expect(t, p, p.Build(servertest.Req{Method: "INVITE", URI: long, Body: servertest.Offer(9, "s")}), 414, "")

	var fams map[string]*dto.MetricFamily
	for range 100 { // bob's session closes right after his 200
		if fams = scrape(t, base); value(fams, "parley_participants", "transport", "tcp") == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := []struct {
		name   string
		labels []string
		v      float64
	}{
		{"parley_rooms", nil, 1},
		{"parley_participants", []string{"transport", "tcp"}, 1},
		{"parley_participants", []string{"transport", "tls"}, 0},
		{"parley_joins_total", nil, 2},
		{"parley_leaves_total", nil, 1},
		{"parley_sip_requests_total", []string{"method", "INVITE"}, 3},
		{"parley_sip_requests_total", []string{"method", "BYE"}, 1},
		{"parley_sip_responses_total", []string{"method", "INVITE", "code", "200"}, 2},
		{"parley_sip_responses_total", []string{"method", "INVITE", "code", "414"}, 1},
		{"parley_sip_responses_total", []string{"method", "BYE", "code", "200"}, 1},
		{"parley_messages_total", nil, 3},
		{"parley_deliveries_total", nil, 3},
		{"parley_messages_stored_total", nil, 3},
		{"parley_msrp_requests_total", []string{"method", "SEND"}, 5}, // two bodiless binds, three messages
		{"parley_msrp_responses_total", []string{"code", "200"}, 5},
		{"parley_msrp_responses_received_total", []string{"code", "200"}, -1}, // Failure-Report: no copies: none asked
		{"parley_dropped_copies_total", []string{"kind", "regular"}, 0},
		{"parley_subscriptions", nil, 0},
		{"parley_store_available", nil, 1},
		{"parley_store_append_seconds", nil, 3},
		{"parley_auth_failures_total", []string{"reason", "refused"}, 0},
	}
	for _, w := range want {
		if got := value(fams, w.name, w.labels...); got != w.v {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.v)
		}
	}
	if got := value(fams, "parley_msrp_bytes_total", "direction", "in"); got < float64(sent) {
		t.Errorf("parley_msrp_bytes_total{in} = %v, want at least the %d octets alice sent", got, sent)
	}
	if value(fams, "go_goroutines") <= 0 || value(fams, "process_resident_memory_bytes") <= 0 {
		t.Error("the Go runtime and process metrics are missing")
	}
}

// The admin API over HTTP against a running server: list, create,
// reconfigure, kick and delete, with the participants seeing each.
func TestAdminRooms(t *testing.T) {
	srv, stop := startServer(t)
	defer stop()
	base := startAdminFor(t, srv)
	roomURI := "sip:ops@127.0.0.1"

	var r admin.Room
	if code := call(t, "POST", base+"/api/v1/rooms", `{"name":"ops","subject":"On call","history":5,"max_participants":3}`, &r); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if !r.Configured || r.URI != roomURI || !strings.Contains(string(r.Policy), `"max_participants":3`) || !strings.Contains(string(r.Policy), `"subject":"On call"`) {
		t.Fatalf("created room: %+v (policy %s)", r, r.Policy)
	}
	var e struct {
		Error  string   `json:"error"`
		Errors []string `json:"errors"`
	}
	if code := call(t, "POST", base+"/api/v1/rooms", `{"name":"ops"}`, &e); code != 409 {
		t.Fatalf("create again: %d %+v", code, e)
	}
	if code := call(t, "POST", base+"/api/v1/rooms", `{"name":"bad","histroy":5,"max_participants":"x"}`, &e); code != 422 || len(e.Errors) != 2 {
		t.Fatalf("create with two bad keys: %d %+v", code, e)
	}

	alice, _ := joinKeeping(t, srv, roomURI, "sip:alice@example.com")
	bob, _ := joinKeeping(t, srv, roomURI, "sip:bob@example.com")
	if code := call(t, "GET", base+"/api/v1/rooms/ops", "", &r); code != 200 || len(r.Participants) != 2 || r.Participants[0].URI != "sip:alice@example.com" || r.Participants[0].Transport != "tcp" {
		t.Fatalf("room: %d %+v", code, r)
	}

	// Reconfigure under the participants: the room now takes two; a third
	// is refused, nobody present is dropped.
	if code := call(t, "PATCH", base+"/api/v1/rooms/ops", `{"max_participants":2}`, &r); code != 200 || !strings.Contains(string(r.Policy), `"max_participants":2`) {
		t.Fatalf("patch: %d %s", code, r.Policy)
	}
	p := dial(t, srv, "TCP")
	expect(t, p, servertest.WithFrom(p.Build(servertest.Req{Method: "INVITE", URI: roomURI, Body: servertest.Offer(9, "c")}), "<sip:carol@example.com>"), 486, "")
	s := alice.say(roomURI, "still here")
	alice.expectOK(t, s.TID)
	bob.expectText(t, "still here")

	// Kick bob: his BYE says why, and he is gone from the room.
	if code := call(t, "POST", base+"/api/v1/rooms/ops/kick", `{"uri":"sip:bob@example.com","reason":"spam"}`, nil); code != 200 {
		t.Fatalf("kick: %d", code)
	}
	bye := readRequest(t, bob.sip, "BYE", true)
	if reason := servertest.Header(bye, "Reason"); !strings.Contains(reason, "cause=403") || !strings.Contains(reason, "spam") {
		t.Errorf("kick BYE Reason = %q", reason)
	}
	if code := call(t, "POST", base+"/api/v1/rooms/ops/kick", `{"uri":"sip:bob@example.com"}`, &e); code != 404 {
		t.Fatalf("kick again: %d", code)
	}

	// Delete while alice chats and a watcher is subscribed: her BYE (410)
	// and the watcher's final NOTIFY (noresource).
	w := dial(t, srv, "TCP")
	expect(t, w, servertest.WithFrom(w.Build(servertest.Req{Method: "SUBSCRIBE", URI: roomURI, Extra: []string{
		"Event: conference", "Accept: application/conference-info+xml", "Expires: 600"}}), "<sip:watcher@example.com>"), 200, "")
	readRequest(t, w, "NOTIFY", true)
	s = alice.say(roomURI, "before the end")
	var del struct{ Removed, Subscriptions int }
	if code := call(t, "DELETE", base+"/api/v1/rooms/ops?reason=closed", "", &del); code != 200 || del.Removed != 1 || del.Subscriptions != 1 {
		t.Fatalf("delete: %d %+v", code, del)
	}
	bye = readRequest(t, alice.sip, "BYE", true)
	if reason := servertest.Header(bye, "Reason"); !strings.Contains(reason, "cause=410") || !strings.Contains(reason, "closed") {
		t.Errorf("delete BYE Reason = %q", reason)
	}
	for {
		n := readRequest(t, w, "NOTIFY", true)
		if st := servertest.Header(n, "Subscription-State"); strings.HasPrefix(st, "terminated") {
			if !strings.Contains(st, "reason=noresource") {
				t.Errorf("final NOTIFY Subscription-State = %q", st)
			}
			break
		}
	}
	_ = s
	if code := call(t, "GET", base+"/api/v1/rooms/ops", "", &e); code != 404 {
		t.Fatalf("deleted room: %d", code)
	}
	if code := call(t, "DELETE", base+"/api/v1/rooms/ops", "", &e); code != 404 {
		t.Fatalf("delete again: %d", code)
	}
}

// A reload applies a room's new policy and reserved names under connected
// participants without dropping anyone; a broken file is refused whole,
// every problem reported, and the running configuration kept.
func TestReloadUnderParticipants(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "parleyd.toml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const head = `
[sip]
udp = "127.0.0.1:0"
tcp = "127.0.0.1:0"
tls = ""
[msrp]
listen = "127.0.0.1:0"
tls_listen = ""
[https]
listen = ""
[store]
mode = "memory"
`
	write(head + `
[[room]]
name = "lobby"
nicknames = true
`)
	cfg, _, err := config.FromArgs([]string{"-config", path}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer stopServer(srv)
	base := startAdminFor(t, srv)
	roomURI := "sip:lobby@127.0.0.1"
	alice, _ := joinKeeping(t, srv, roomURI, "sip:alice@example.com")
	bob, _ := joinKeeping(t, srv, roomURI, "sip:bob@example.com")
	if code := alice.nickname(t, "boss", false); code != 200 {
		t.Fatalf("nickname before the reload: %d", code)
	}

	// A broken file: refused whole with both problems, nothing changes.
	write(head + `
[[room]]
name = "lobby"
reserved_nicknames = ["admin"]
max_participants = "two"
guests = "sometimes"
`)
	var e struct {
		Error  string   `json:"error"`
		Errors []string `json:"errors"`
	}
	if code := call(t, "POST", base+"/api/v1/reload", "", &e); code != 422 || len(e.Errors) != 2 {
		t.Fatalf("broken reload: %d %+v", code, e)
	}
	if code := bob.nickname(t, "admin", false); code != 200 {
		t.Fatalf("after a refused reload, a nickname the broken file reserved: %d, want 200", code)
	}

	// A good file: "root" reserved, at most 2 participants, one
	// subscription per room; nobody dropped.
	write(head + `
[limits]
subscriptions_per_room = 1
[[room]]
name = "lobby"
reserved_nicknames = ["root"]
max_participants = 2
`)
	var ok struct{ Changes []string }
	if code := call(t, "POST", base+"/api/v1/reload", "", &ok); code != 200 || !strings.Contains(strings.Join(ok.Changes, "\n"), "room lobby: policy changed") || !strings.Contains(strings.Join(ok.Changes, "\n"), "limits:") {
		t.Fatalf("reload: %d %+v", code, ok)
	}
	w := dial(t, srv, "TCP")
	subscribe := func(from string) []byte {
		return servertest.WithFrom(w.Build(servertest.Req{Method: "SUBSCRIBE", URI: roomURI, Extra: []string{
			"Event: conference", "Accept: application/conference-info+xml", "Expires: 600"}}), from)
	}
	expect(t, w, subscribe("<sip:w1@example.com>"), 200, "")
	readRequest(t, w, "NOTIFY", true)
	expect(t, w, subscribe("<sip:w2@example.com>"), 503, "")
	if code := alice.nickname(t, "root", false); code != 425 {
		t.Fatalf("a nickname reserved by the reload: %d, want 425", code)
	}
	p := dial(t, srv, "TCP")
	expect(t, p, servertest.WithFrom(p.Build(servertest.Req{Method: "INVITE", URI: roomURI, Body: servertest.Offer(9, "c")}), "<sip:carol@example.com>"), 486, "")
	s := alice.say(roomURI, "nobody dropped")
	alice.expectOK(t, s.TID)
	bob.expectText(t, "nobody dropped")
	var r admin.Room
	call(t, "GET", base+"/api/v1/rooms/lobby", "", &r)
	if len(r.Participants) != 2 {
		t.Fatalf("after the reload: %d participants", len(r.Participants))
	}

	// A policy that no longer admits them: guests denied. Both are guests:
	// each gets a BYE saying why.
	write(head + `
[[room]]
name = "lobby"
guests = "deny"
`)
	if code := call(t, "POST", base+"/api/v1/reload", "", &ok); code != 200 || !strings.Contains(strings.Join(ok.Changes, "\n"), "2 participants removed") {
		t.Fatalf("reload denying guests: %d %+v", code, ok)
	}
	for _, m := range []*member{alice, bob} {
		bye := readRequest(t, m.sip, "BYE", true)
		if reason := servertest.Header(bye, "Reason"); !strings.Contains(reason, "cause=403") || !strings.Contains(reason, "Guests are no longer admitted") {
			t.Errorf("%s: BYE Reason %q", m.uri, reason)
		}
	}
}

// The trace switches at run time; server info names the listeners.
func TestAdminTraceAndInfo(t *testing.T) {
	srv, stop := startServer(t)
	defer stop()
	base := startAdminFor(t, srv)
	var tr struct{ Enabled bool }
	if code := call(t, "PUT", base+"/api/v1/trace", `{"enabled":true}`, &tr); code != 200 || !tr.Enabled || !srv.Trace() {
		t.Fatalf("trace on: %d %+v", code, tr)
	}
	call(t, "PUT", base+"/api/v1/trace", `{"enabled":false}`, &tr)
	if srv.Trace() {
		t.Fatal("trace still on")
	}
	var info admin.ServerInfo
	if code := call(t, "GET", base+"/api/v1/server", "", &info); code != 200 || info.Listeners["sip_udp"] != srv.Addrs().SIPUDP || info.ConfigSource != "embedded defaults" {
		t.Fatalf("info: %d %+v", code, info)
	}
	var e struct{ Error string }
	if code := call(t, "POST", base+"/api/v1/reload", "", &e); code != 409 {
		t.Fatalf("reload without a file: %d %+v", code, e)
	}
	_ = bytes.MinRead
	_ = msrp.StatusOK
}

// A room made through the API survives a restart on the same data
// directory, also when its policy deletes it from the registry as it
// empties (its store record is written again then, and keeps the room).
func TestAdminRoomSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	start := func() (*server.Server, string) {
		cfg := loopbackConfig()
		cfg.Store.Mode, cfg.Server.DataDir = config.StoreFile, dir
		srv, err := server.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		return srv, startAdminFor(t, srv)
	}
	srv, base := start()
	if code := call(t, "POST", base+"/api/v1/rooms", `{"name":"kept","delete_when":"last-leaves","history":7}`, nil); code != 201 {
		t.Fatalf("create: %d", code)
	}
	roomURI := "sip:kept@127.0.0.1"
	alice, _ := joinKeeping(t, srv, roomURI, "sip:alice@example.com")
	alice.leave(t, roomURI) // the room empties: deleted from the registry
	stopServer(srv)

	srv, base = start()
	defer stopServer(srv)
	var r admin.Room
	if code := call(t, "GET", base+"/api/v1/rooms/kept", "", &r); code != 200 || !r.Configured || !strings.Contains(string(r.Policy), `"history":7`) {
		t.Fatalf("after the restart: %d %+v %s", code, r, r.Policy)
	}
}

// /readyz's problems: not ready before the listeners serve, ready after,
// not ready once a shutdown has begun.
func TestReady(t *testing.T) {
	srv, err := server.New(loopbackConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := srv.Ready(); len(p) != 1 || !strings.Contains(p[0], "not serving") {
		t.Fatalf("before Start: %q", p)
	}
	srv.Start()
	if p := srv.Ready(); len(p) != 0 {
		t.Fatalf("serving: %q", p)
	}
	stopServer(srv)
	if p := srv.Ready(); !strings.Contains(strings.Join(p, ";"), "shutting down") {
		t.Fatalf("after Shutdown: %q", p)
	}
}
