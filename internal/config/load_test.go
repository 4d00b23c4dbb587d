package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parleyd.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problems returns err's Errors, failing the test if err is not one.
func problems(t *testing.T, err error) Errors {
	t.Helper()
	es, ok := errors.AsType[Errors](err)
	if !ok {
		t.Fatalf("error %v (%T) is not Errors", err, err)
	}
	return es
}

// where lists each problem as "key@line" ("key" when it has no line).
func where(es Errors) []string {
	var out []string
	for _, e := range es {
		s := e.Key
		if e.Line > 0 {
			s += "@" + strconv.Itoa(e.Line)
		}
		out = append(out, s)
	}
	return out
}

const validFile = `
[server]
host = "chat.example.com"
shutdown_timeout = "3s"

[sip]
udp = ""
tcp = "0.0.0.0:0"

[msrp]
listen = ":0"
max_chunk = "2MiB"
max_message = 8388608
max_pending = "16 MiB"
chunk_timeout = "1m"

[rooms]
mode = "configured"
nicknames = true
reserved_nicknames = ["admin", "système"]
accept_wrapped_types = ["text/plain", "text/html", "image/*"]

[[room]]
name = "lobby"
subject = "Welcome"

[[room]]
name = "quiet.room"
nicknames = false
private_messages = false
system_messages = false
delete_when = "last-leaves"
max_participants = 10
accept_wrapped_types = []
nickname_quarantine = "10m"

[log]
level = "debug"
format = "json"
trace = true
`

func TestLoadValid(t *testing.T) {
	c, err := Load(writeFile(t, validFile))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Default()
	want.Server = ServerConfig{Host: "chat.example.com", Aliases: []string{"localhost", "::1"}, ShutdownTimeout: Duration(3 * time.Second), DataDir: "parley-data"}
	want.SIP.UDP, want.SIP.TCP = "", "0.0.0.0:0"
	want.MSRP.Listen = ":0"
	want.MSRP.MaxChunk = 2 * MiB
	want.MSRP.MaxMessage = 8 * MiB
	want.MSRP.MaxPending = 16 * MiB
	want.MSRP.ChunkTimeout = Duration(time.Minute)
	want.Rooms.Mode = ModeConfigured
	want.Rooms.ReservedNicknames = []string{"admin", "système"}
	want.Rooms.AcceptWrappedTypes = []string{"text/plain", "text/html", "image/*"}
	want.Room = []RoomConfig{
		{Name: "lobby", Subject: "Welcome"},
		{Name: "quiet.room", PolicyOverride: PolicyOverride{
			Nicknames:          new(false),
			PrivateMessages:    new(false),
			SystemMessages:     new(false),
			DeleteWhen:         new(DeleteLastLeaves),
			MaxParticipants:    new(10),
			AcceptWrappedTypes: &[]string{},
			NicknameQuarantine: new(Duration(10 * time.Minute)),
		}},
	}
	want.Log = LogConfig{Level: LevelDebug, Format: FormatJSON, Trace: true}
	want.index()
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", *c, *want)
	}
	if l := c.MSRPLimits(); l != (MSRPLimits{MaxHeaderBytes: 16 << 10, MaxChunk: 2 << 20, MaxMessage: 8 << 20, MaxPending: 16 << 20}) {
		t.Errorf("MSRPLimits = %+v", l)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	if n := len(problems(t, err)); n != 1 {
		t.Errorf("%d problems, want 1", n)
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	path := writeFile(t, `[server]
hots = "x"
host = "h.example"

[bogus]
a = 1

[[room]]
name = "a"
colour = "red"

[[room]]
name = "b"
Nicknames = false
msrp.listen = ":1"
`)
	_, err := Load(path)
	es := problems(t, err)
	got, want := where(es), []string{"server.hots@2", "bogus@5", "room[0].colour@10", "room[1].Nicknames@14", "room[1].msrp@15"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems at %v, want %v\n%v", got, want, err)
	}
	for _, e := range es {
		if e.File != path {
			t.Errorf("%v: File = %q, want %q", e, e.File, path)
		}
	}
	if msg := es[0].Error(); msg != path+`:2: server.hots: unknown key (did you mean "host"?)` {
		t.Errorf("message %q", msg)
	}
	if msg := es[3].Error(); !strings.Contains(msg, `did you mean "nicknames"?`) {
		t.Errorf("message %q: no suggestion", msg)
	}
}

func TestLoadSyntaxError(t *testing.T) {
	path := writeFile(t, "[server]\nhost = \"a\"\n\n[msrp]\nmax_chunk = = 5\n")
	_, err := Load(path)
	es := problems(t, err)
	if len(es) != 1 {
		t.Fatalf("%d problems, want 1: %v", len(es), err)
	}
	e := es[0]
	if e.File != path || e.Line != 5 || e.Col == 0 {
		t.Errorf("syntax error at %s:%d:%d, want %s:5:col", e.File, e.Line, e.Col, path)
	}
	if !strings.HasPrefix(e.Error(), path+":5:") {
		t.Errorf("message %q lacks file:line", e.Error())
	}
}

// Values of the wrong type, unknown keys and failed validation are all
// reported in one error, each at its line.
func TestLoadEveryProblemAtOnce(t *testing.T) {
	path := writeFile(t, `[server]
host = ""

[sip]
udp = 5060
tcp = "localhost"

[msrp]
max_chunk = true
bind_timeout = 30
max_message = "lots"
write_timeout = "-1s"
max_pending = 1.5

[rooms]
mode = "ad-hoc"
accept_wrapped_types = ["text/plain", "not a type"]
reserved_nicknames = ["admin", 7]
nickname_quarantine = "soon"

[[room]]
subject = "no name"

[[room]]
name = "dup"

[[room]]
name = "dup"
max_nickname_bytes = 2000

[log]
level = "verbose"
`)
	_, err := Load(path)
	got := where(problems(t, err))
	want := []string{
		// decoding, in file order
		"sip.udp@5", "msrp.max_chunk@9", "msrp.bind_timeout@10", "msrp.max_message@11", "msrp.max_pending@13",
		"rooms.reserved_nicknames[1]@18", "rooms.nickname_quarantine@19",
		// validation, in key order
		"server.host@2", "sip.tcp@6", "msrp.write_timeout@12", "rooms.mode@16",
		"rooms.accept_wrapped_types[1]@17",
		"room[0].name@21", "room[2].name@28", "room[2].max_nickname_bytes@29",
		"log.level@32",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems at\n%v\nwant\n%v\n%v", got, want, err)
	}
}

func TestParseEmpty(t *testing.T) {
	c, err := Parse("empty.toml", nil)
	if err != nil || !reflect.DeepEqual(c, Default()) {
		t.Errorf("Parse(empty) = %+v, %v; want Default()", c, err)
	}
}

func TestParseInlineTables(t *testing.T) {
	c, err := Parse("inline.toml", []byte(`
msrp = { listen = ":0", max_chunk = 1024 }
room = [ { name = "a", nicknames = false }, { name = "b" } ]
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.MSRP.Listen != ":0" || c.MSRP.MaxChunk != 1024 || len(c.Room) != 2 || *c.Room[0].Nicknames {
		t.Errorf("Parse = %+v", *c)
	}
	_, err = Parse("inline.toml", []byte("\n\nmsrp = { listen = \":0\", max_chunk = 0 }\n"))
	if got := where(problems(t, err)); !reflect.DeepEqual(got, []string{"msrp.max_chunk@3"}) {
		t.Errorf("problems at %v, want the inline table's line", got)
	}
}

func TestKeyLines(t *testing.T) {
	src := `top = 1 # comment
[a]
x = """
y = 1
"""
"quoted.key" = 2
b.c = 3
[[r]]
k = 'v'
[[r]]
k = [
  "k = 1",
]
[r.sub]
z = 1
[ a . d ]
e = 1
`
	want := map[string]int{
		"top": 1, "a": 2, "a.x": 3, "a.quoted.key": 6, "a.b": 7, "a.b.c": 7,
		"r[0]": 8, "r[0].k": 9, "r[1]": 10, "r[1].k": 11, "r[1].sub": 14, "r[1].sub.z": 15,
		"a.d": 16, "a.d.e": 17,
	}
	if got := keyLines(src); !reflect.DeepEqual(got, want) {
		t.Errorf("keyLines =\n%v\nwant\n%v", got, want)
	}
}

// Parse never panics, and a Config it accepts is valid.
func FuzzParse(f *testing.F) {
	f.Add(defaultTOML)
	f.Add([]byte(validFile))
	f.Add([]byte("room = [ { name = \"a\" } ]\nmsrp.max_chunk = \"1MiB\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Parse accepted an invalid config: %v", verr)
			}
		}
	})
}
