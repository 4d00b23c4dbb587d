package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// adminRequest is what the fake admin listener saw of a request.
type adminRequest struct {
	Method, URI, Auth, ContentType, Accept, Body string
}

// fakeAdmin is an admin listener answering every request with one status
// and body, as docs/ADMIN.md shapes them, and recording the requests.
type fakeAdmin struct {
	srv    *httptest.Server
	addr   string // host:port
	status int
	answer string
	mu     sync.Mutex
	reqs   []adminRequest
}

func newFakeAdmin(t *testing.T, tls bool, status int, answer string) *fakeAdmin {
	t.Helper()
	f := &fakeAdmin{status: status, answer: answer}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, adminRequest{r.Method, r.RequestURI, r.Header.Get("Authorization"),
			r.Header.Get("Content-Type"), r.Header.Get("Accept"), string(b)})
		f.mu.Unlock()
		if f.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parleyd"`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		io.WriteString(w, f.answer)
	})
	if tls {
		f.srv = httptest.NewTLSServer(h)
	} else {
		f.srv = httptest.NewServer(h)
	}
	t.Cleanup(f.srv.Close)
	f.addr = f.srv.Listener.Addr().String()
	return f
}

// only returns the one request the fake admin listener saw.
func (f *fakeAdmin) only(t *testing.T) adminRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) != 1 {
		t.Fatalf("the admin listener saw %d requests, want 1: %+v", len(f.reqs), f.reqs)
	}
	return f.reqs[0]
}

func (f *fakeAdmin) none(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) != 0 {
		t.Fatalf("the admin listener saw %+v, want no request", f.reqs)
	}
}

// parleyd runs parleyd args (through run, as main does) and returns its
// exit status and output.
func parleyd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantRequest(t *testing.T, got, want adminRequest) {
	t.Helper()
	if want.Accept == "" {
		want.Accept = "application/json"
	}
	if want.Body != "" && want.ContentType == "" {
		want.ContentType = "application/json"
	}
	if got != want {
		t.Fatalf("request\n got %+v\nwant %+v", got, want)
	}
}

func wantExit(t *testing.T, code int, stdout, stderr string, wantCode int, wantStdout, wantStderr string) {
	t.Helper()
	if code != wantCode || stdout != wantStdout || stderr != wantStderr {
		t.Fatalf("exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q", code, stdout, stderr, wantCode, wantStdout, wantStderr)
	}
}

const lobbyJSON = `{"name":"lobby","uri":"sip:lobby@chat.example.com","configured":true,` +
	`"policy":{"subject":"Welcome\there","delete_when":"never","max_participants":0,"history":50,"guests":true},` +
	`"participants":[{"uri":"sip:alice@example.com","nickname":"alice","anonymous":false,"guest":true,"transport":"tcp"},` +
	`{"uri":"sip:anonymous@anonymous.invalid","anonymous":true,"guest":false,"account":"bob"}],"subscriptions":1}`

// TestRoomList: GET /api/v1/rooms, without a token; the rooms in an aligned
// table sorted by name (a subject's tab kept to its cell); -json prints
// the answer as it is.
func TestRoomList(t *testing.T) {
	answer := `{"rooms":[{"name":"ops","uri":"sip:ops@chat.example.com","policy":{"subject":"On call"},"participants":[],"subscriptions":0},` + lobbyJSON + `]}`
	f := newFakeAdmin(t, false, 200, answer)
	code, out, errOut := parleyd(t, "room", "list", "-admin", f.addr)
	wantExit(t, code, out, errOut, 0, ""+
		"ROOM   PARTICIPANTS  SUBSCRIPTIONS  SUBJECT\n"+
		"lobby  2             1              Welcome here\n"+
		"ops    0             0              On call\n", "")
	wantRequest(t, f.only(t), adminRequest{Method: "GET", URI: "/api/v1/rooms"})

	f = newFakeAdmin(t, false, 200, answer)
	code, out, errOut = parleyd(t, "room", "list", "-json", "-admin", "http://"+f.addr+"/")
	wantExit(t, code, out, errOut, 0, answer+"\n", "")
	wantRequest(t, f.only(t), adminRequest{Method: "GET", URI: "/api/v1/rooms"})
}

// TestRoomShow: GET /api/v1/rooms/{name}, the name escaped; the room's
// policy and participants; a 404's JSON error on stderr, exit status 1.
func TestRoomShow(t *testing.T) {
	f := newFakeAdmin(t, false, 200, lobbyJSON)
	code, out, errOut := parleyd(t, "room", "show", "lobby", "-admin", f.addr)
	wantExit(t, code, out, errOut, 0, ""+
		"room           lobby\n"+
		"uri            sip:lobby@chat.example.com\n"+
		"configured     true\n"+
		"subscriptions  1\n"+
		"participants   2\n"+
		"policy:\n"+
		"  delete_when       never\n"+
		"  guests            true\n"+
		"  history           50\n"+
		"  max_participants  0\n"+
		"  subject           Welcome here\n"+
		"participants:\n"+
		"  NICKNAME  URI                              TRANSPORT\n"+
		"  alice     sip:alice@example.com            tcp  guest\n"+
		"  -         sip:anonymous@anonymous.invalid  -  account bob  anonymous\n", "")
	wantRequest(t, f.only(t), adminRequest{Method: "GET", URI: "/api/v1/rooms/lobby"})

	f = newFakeAdmin(t, false, 404, `{"error":"room \"a b/c\" not found"}`)
	code, out, errOut = parleyd(t, "room", "show", "-admin", f.addr, "a b/c")
	wantExit(t, code, out, errOut, 1, "", "parleyd room show: room \"a b/c\" not found\n")
	wantRequest(t, f.only(t), adminRequest{Method: "GET", URI: "/api/v1/rooms/a%20b%2Fc"})
}

// TestRoomCreate: POST /api/v1/rooms with the name, -subject and every
// -set (JSON values as such, others as strings), the token of -token-file
// as a bearer token; 409 and 422 (with its errors) on stderr, exit status
// 1; bad -set flags are usage errors (2) and send nothing.
func TestRoomCreate(t *testing.T) {
	token := writeFile(t, "token", "s3cret\n")
	created := `{"name":"ops","uri":"sip:ops@chat.example.com","configured":true,"policy":{"subject":"On call"},"participants":[],"subscriptions":0}`
	f := newFakeAdmin(t, false, 201, created)
	code, out, errOut := parleyd(t, "room", "create", "ops", "-subject", "On call", "-set", "history=200", "-set", "delete_when=never",
		"-set", "history_max_age=48h", "-set", "guests=false", "-set", `accept_types=["text/plain", "text/html"]`, "-set", "max_participants= 20",
		"-admin", f.addr, "-token-file", token)
	wantExit(t, code, out, errOut, 0, "room ops: created (sip:ops@chat.example.com)\n", "")
	wantRequest(t, f.only(t), adminRequest{Method: "POST", URI: "/api/v1/rooms", Auth: "Bearer s3cret",
		Body: `{"accept_types":["text/plain","text/html"],"delete_when":"never","guests":false,"history":200,"history_max_age":"48h","max_participants":20,"name":"ops","subject":"On call"}`})

	f = newFakeAdmin(t, false, 201, created) // no -subject: no subject key; an empty one is a string
	code, out, errOut = parleyd(t, "room", "create", "ops", "-set", "nicknames=", "-admin", f.addr, "-json")
	wantExit(t, code, out, errOut, 0, created+"\n", "")
	wantRequest(t, f.only(t), adminRequest{Method: "POST", URI: "/api/v1/rooms", Body: `{"name":"ops","nicknames":""}`})

	f = newFakeAdmin(t, false, 409, `{"error":"room \"ops\" exists"}`)
	code, out, errOut = parleyd(t, "room", "create", "ops", "-admin", f.addr)
	wantExit(t, code, out, errOut, 1, "", "parleyd room create: room \"ops\" exists\n")
	wantRequest(t, f.only(t), adminRequest{Method: "POST", URI: "/api/v1/rooms", Body: `{"name":"ops"}`})

	f = newFakeAdmin(t, false, 422, `{"error":"room \"ops\": 2 problems","errors":["history: must not be negative","delete_when: \"sometimes\" is not never, empty or idle"]}`)
	code, out, errOut = parleyd(t, "room", "create", "ops", "-set", "history=-1", "-set", "delete_when=sometimes", "-admin", f.addr)
	wantExit(t, code, out, errOut, 1, "", ""+
		"parleyd room create: room \"ops\": 2 problems\n"+
		"parleyd room create: history: must not be negative\n"+
		"parleyd room create: delete_when: \"sometimes\" is not never, empty or idle\n")
	wantRequest(t, f.only(t), adminRequest{Method: "POST", URI: "/api/v1/rooms", Body: `{"delete_when":"sometimes","history":-1,"name":"ops"}`})

	f = newFakeAdmin(t, false, 201, created)
	for _, args := range [][]string{
		{"room", "create", "ops", "-set", "history"},
		{"room", "create", "ops", "-set", "=1"},
		{"room", "create", "ops", "-set", "name=x"},
		{"room", "create", "ops", "-subject", "a", "-set", "subject=b"},
		{"room", "create", "ops", "-set", "history=1", "-set", "history=2"},
		{"room", "create"},
		{"room", "create", "ops", "dev"},
		{"room", "create", ""},
		{"room", "create", "ops", "-reason", "x"},
	} {
		code, out, errOut = parleyd(t, append(args, "-admin", f.addr)...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "parleyd room create: ") && !strings.Contains(errOut, "Usage: parleyd room create <name> [flags]") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want a usage error", args, code, out, errOut)
		}
	}
	f.none(t)
}

// TestRoomDelete: DELETE /api/v1/rooms/{name}, ?reason= only with -reason;
// what it removed; a 404 on stderr.
func TestRoomDelete(t *testing.T) {
	f := newFakeAdmin(t, false, 200, `{"removed":2,"subscriptions":1}`)
	code, out, errOut := parleyd(t, "room", "delete", "ops", "-reason", "closed & gone", "-admin", f.addr)
	wantExit(t, code, out, errOut, 0, "room ops: deleted (2 participants removed, 1 subscription ended)\n", "")
	wantRequest(t, f.only(t), adminRequest{Method: "DELETE", URI: "/api/v1/rooms/ops?reason=closed+%26+gone"})

	f = newFakeAdmin(t, false, 200, `{"removed":0,"subscriptions":0}`)
	code, out, errOut = parleyd(t, "room", "delete", "-admin", f.addr, "ops")
	wantExit(t, code, out, errOut, 0, "room ops: deleted (0 participants removed, 0 subscriptions ended)\n", "")
	wantRequest(t, f.only(t), adminRequest{Method: "DELETE", URI: "/api/v1/rooms/ops"})

	f = newFakeAdmin(t, false, 404, `{"error":"room \"ops\" not found"}`)
	code, out, errOut = parleyd(t, "room", "delete", "ops", "-admin", f.addr)
	wantExit(t, code, out, errOut, 1, "", "parleyd room delete: room \"ops\" not found\n")
}

// TestParticipantKick: POST /api/v1/rooms/{room}/kick with the URI and
// the reason (none without -reason); a 404 on stderr; missing arguments
// are usage errors.
func TestParticipantKick(t *testing.T) {
	f := newFakeAdmin(t, false, 200, `{}`)
	code, out, errOut := parleyd(t, "participant", "kick", "ops", "sip:mallory@example.com", "-reason", "spam", "-admin", f.addr)
	wantExit(t, code, out, errOut, 0, "sip:mallory@example.com: removed from room ops\n", "")
	wantRequest(t, f.only(t), adminRequest{Method: "POST", URI: "/api/v1/rooms/ops/kick", Body: `{"uri":"sip:mallory@example.com","reason":"spam"}`})

	f = newFakeAdmin(t, false, 404, `{"error":"no participant sip:eve@example.com in room \"ops\""}`)
	code, out, errOut = parleyd(t, "participant", "kick", "-admin", f.addr, "ops", "sip:eve@example.com")
	wantExit(t, code, out, errOut, 1, "", "parleyd participant kick: no participant sip:eve@example.com in room \"ops\"\n")
	wantRequest(t, f.only(t), adminRequest{Method: "POST", URI: "/api/v1/rooms/ops/kick", Body: `{"uri":"sip:eve@example.com"}`})

	f = newFakeAdmin(t, false, 200, `{}`)
	code, out, errOut = parleyd(t, "participant", "kick", "ops", "-admin", f.addr)
	wantExit(t, code, out, errOut, 2, "", "parleyd participant kick: the uri is missing\nUsage: parleyd participant kick <room> <uri> [flags]\n")
	f.none(t)
}

// TestAdminUnauthorized: a 401's JSON error, and what to do: give a token,
// or another one.
func TestAdminUnauthorized(t *testing.T) {
	f := newFakeAdmin(t, false, 401, `{"error":"unauthorized"}`)
	code, out, errOut := parleyd(t, "room", "list", "-admin", f.addr)
	wantExit(t, code, out, errOut, 1, "", "parleyd room list: unauthorized\n"+
		"parleyd room list: the admin listener wants a token: give -token-file, or -config with admin.token_file or admin.token\n")
	wantRequest(t, f.only(t), adminRequest{Method: "GET", URI: "/api/v1/rooms"})

	f = newFakeAdmin(t, false, 401, `{"error":"unauthorized"}`)
	code, out, errOut = parleyd(t, "room", "list", "-admin", f.addr, "-token-file", writeFile(t, "token", "  wrong \r\nnext line\n"))
	wantExit(t, code, out, errOut, 1, "", "parleyd room list: unauthorized\nparleyd room list: the admin listener refused the token\n")
	wantRequest(t, f.only(t), adminRequest{Method: "GET", URI: "/api/v1/rooms", Auth: "Bearer wrong"})
}

// TestAdminNotJSON: an answer that is not the API's JSON error (a proxy's)
// is reported with its status and first line.
func TestAdminNotJSON(t *testing.T) {
	f := newFakeAdmin(t, false, 502, "upstream down\n<html>…</html>")
	code, out, errOut := parleyd(t, "room", "list", "-admin", f.addr)
	wantExit(t, code, out, errOut, 1, "", "parleyd room list: 502 Bad Gateway: upstream down\n")
}

// TestAdminUnreachable: nothing listening: one clear line naming the
// address and where it comes from, exit status 1.
func TestAdminUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, out, errOut := parleyd(t, "room", "list", "-admin", addr)
	wantExit(t, code, out, errOut, 1, "", "parleyd room list: cannot reach the admin listener at http://"+addr+": is parleyd running? (-admin "+addr+")\n")

	conf := writeFile(t, "parleyd.toml", "[admin]\nlisten = \""+addr+"\"\n")
	code, out, errOut = parleyd(t, "participant", "kick", "ops", "sip:a@example.com", "-config", conf)
	wantExit(t, code, out, errOut, 1, "", "parleyd participant kick: cannot reach the admin listener at http://"+addr+
		": is parleyd running? (admin.listen "+addr+" in "+conf+")\n")
}

// TestAdminTimeout: a request gets adminTimeout, then a clear failure.
func TestAdminTimeout(t *testing.T) {
	defer func(d time.Duration) { adminTimeout = d }(adminTimeout)
	adminTimeout = 200 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		<-ctx.Done()
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	start := time.Now()
	code, out, errOut := parleyd(t, "room", "list", "-admin", addr)
	wantExit(t, code, out, errOut, 1, "", "parleyd room list: the admin listener at http://"+addr+" did not answer in 200ms (-admin "+addr+")\n")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

// TestAdminConfig: the address and token come from the -config file's
// [admin] table (token_file over token; the rest of the file ignored);
// -admin and -token-file override it; a configuration that cannot serve
// is a usage error (2).
func TestAdminConfig(t *testing.T) {
	f := newFakeAdmin(t, false, 200, `{"rooms":[]}`)
	tokenFile := writeFile(t, "token", "from-file\n")
	conf := writeFile(t, "parleyd.toml", "[server]\nhost = \"chat.example.com\"\n\n[admin]\nlisten = \""+f.addr+"\"\ntoken = \"inline\"\ntoken_file = \""+tokenFile+"\"\n\n[[room]]\nname = \"lobby\"\n")
	code, out, errOut := parleyd(t, "room", "list", "-config", conf)
	wantExit(t, code, out, errOut, 0, "ROOM  PARTICIPANTS  SUBSCRIPTIONS  SUBJECT\n", "")
	wantRequest(t, f.only(t), adminRequest{Method: "GET", URI: "/api/v1/rooms", Auth: "Bearer from-file"})

	f = newFakeAdmin(t, false, 200, `{"rooms":[]}`)
	conf = writeFile(t, "parleyd.toml", "[admin]\nlisten = \""+f.addr+"\"\ntoken = \"inline\"\n")
	parleyd(t, "room", "list", "-config", conf)
	wantRequest(t, f.only(t), adminRequest{Method: "GET", URI: "/api/v1/rooms", Auth: "Bearer inline"})

	f = newFakeAdmin(t, false, 200, `{"rooms":[]}`)
	conf = writeFile(t, "parleyd.toml", "[admin]\nlisten = \"127.0.0.1:1\"\ntoken_file = \"/nonexistent/token\"\n")
	code, out, errOut = parleyd(t, "room", "list", "-config", conf, "-admin", f.addr, "-token-file", writeFile(t, "t", "flag"))
	wantExit(t, code, out, errOut, 0, "ROOM  PARTICIPANTS  SUBSCRIPTIONS  SUBJECT\n", "")
	wantRequest(t, f.only(t), adminRequest{Method: "GET", URI: "/api/v1/rooms", Auth: "Bearer flag"})

	for name, c := range map[string]struct{ toml, want string }{
		"off":           {"[admin]\nlisten = \"\"\n", "the admin listener is off"},
		"not TOML":      {"[admin\n", "toml:"},
		"wrong type":    {"[admin]\nlisten = 9560\n", "listen"},
		"no token file": {"[admin]\ntoken_file = \"/nonexistent/token\"\n", "/nonexistent/token"},
		"empty token":   {"[admin]\ntoken_file = \"" + writeFile(t, "empty", "\n\n") + "\"\n", ": empty"},
		"port 0":        {"[admin]\nlisten = \"127.0.0.1:0\"\n", "port 0"},
	} {
		conf := writeFile(t, "parleyd.toml", c.toml)
		code, out, errOut := parleyd(t, "room", "list", "-config", conf)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "parleyd room list: ") || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and %q", name, code, out, errOut, c.want)
		}
	}
	code, _, errOut = parleyd(t, "room", "list", "-config", "/nonexistent/parleyd.toml")
	if code != 2 || !strings.Contains(errOut, "/nonexistent/parleyd.toml") {
		t.Errorf("a missing -config: exit %d, stderr %q", code, errOut)
	}
}

// TestAdminTLS: https:// to the self-signed certificate fails, saying
// -insecure, and works with it; a plain HTTP listener named https:// says
// so.
func TestAdminTLS(t *testing.T) {
	f := newFakeAdmin(t, true, 200, `{"rooms":[]}`)
	code, out, errOut := parleyd(t, "room", "list", "-admin", f.srv.URL)
	if code != 1 || out != "" || !strings.Contains(errOut, "certificate") || !strings.HasSuffix(errOut, "parleyd room list: the admin listener's certificate is not trusted: parleyd's self-signed one? -insecure skips the verification\n") {
		t.Fatalf("an untrusted certificate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = parleyd(t, "room", "list", "-admin", f.srv.URL, "-insecure", "-token-file", writeFile(t, "token", "tls"))
	wantExit(t, code, out, errOut, 0, "ROOM  PARTICIPANTS  SUBSCRIPTIONS  SUBJECT\n", "")
	wantRequest(t, f.only(t), adminRequest{Method: "GET", URI: "/api/v1/rooms", Auth: "Bearer tls"})

	plain := newFakeAdmin(t, false, 200, `{"rooms":[]}`)
	code, _, errOut = parleyd(t, "room", "list", "-admin", "https://"+plain.addr)
	if code != 1 || !strings.HasSuffix(errOut, "the admin listener does not speak TLS: give -admin http://…\n") {
		t.Fatalf("https:// to plain HTTP: exit %d, stderr %q", code, errOut)
	}
}

// TestAdminURL: host:port is http:// on loopback, https:// elsewhere; a
// URL is taken as it is.
func TestAdminURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:9560":               "http://127.0.0.1:9560",
		"127.0.0.2:80":                 "http://127.0.0.2:80",
		"[::1]:9560":                   "http://[::1]:9560",
		"localhost:9560":               "http://localhost:9560",
		"127.0.0.1":                    "http://127.0.0.1:9560",
		"::1":                          "http://[::1]:9560",
		"127.0.0.1:":                   "http://127.0.0.1:9560",
		"192.0.2.1:9560":               "https://192.0.2.1:9560",
		"admin.example.com:443":        "https://admin.example.com:443",
		"admin.example.com":            "https://admin.example.com:9560",
		":9560":                        "https://127.0.0.1:9560",
		"0.0.0.0:9560":                 "https://127.0.0.1:9560",
		"[::]:9560":                    "https://127.0.0.1:9560",
		"http://10.0.0.1:9560/":        "http://10.0.0.1:9560",
		"https://127.0.0.1:9560":       "https://127.0.0.1:9560",
		"https://proxy.example/parley": "https://proxy.example/parley",
	} {
		got, err := adminURL(in)
		if err != nil || got != want {
			t.Errorf("adminURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"ftp://x", "http://", "127.0.0.1:0", "https://x/?a=b", "a b:1"} {
		if got, err := adminURL(in); err == nil {
			t.Errorf("adminURL(%q) = %q, want an error", in, got)
		}
	}
}

// TestAdminHelp: parleyd room and participant -h in parleyd user's style:
// exit 0 on -h, 2 without a command or with an unknown one.
func TestAdminHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"room", "-h"}, 0, "Usage:\n  parleyd room list [flags]"},
		{[]string{"room", "help"}, 0, "-insecure "},
		{[]string{"room"}, 2, "Usage:\n  parleyd room list [flags]"},
		{[]string{"room", "rename"}, 2, "parleyd room: unknown command \"rename\"\n\nUsage:"},
		{[]string{"room", "create", "-h"}, 0, "Usage: parleyd room create <name> [flags]"},
		{[]string{"participant", "--help"}, 0, "Usage:\n  parleyd participant kick <room> <uri> [-reason R] [flags]"},
		{[]string{"participant"}, 2, "parleyd participant kick"},
		{[]string{"participant", "ban"}, 2, "parleyd participant: unknown command \"ban\""},
		{[]string{"room", "list", "-bogus"}, 2, "flag provided but not defined: -bogus"},
	} {
		code, out, errOut := parleyd(t, c.args...)
		if code != c.code || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
}
