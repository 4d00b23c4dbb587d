package server

import (
	"testing"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/room"
)

// The room policies the switch enforces come from the configuration: the
// [rooms] defaults, and a [[room]] entry's overrides.
func TestPolicySource(t *testing.T) {
	cfg, err := config.Parse("test.toml", []byte(`
[msrp]
max_message = 65536
max_chunk = 65536
max_pending = 1048576

[rooms]
system_messages = false
reserved_nicknames = ["admin"]

[[room]]
name = "strict"
nickname_scope = "focus"
max_nickname_bytes = 16
nickname_quarantine = "5m"
private_messages = false
multiple_private = true
system_messages = true
`))
	if err != nil {
		t.Fatal(err)
	}
	src := policySource(func() *config.Config { return cfg })

	p, configured, ok := src("strict")
	if !ok || !configured {
		t.Fatalf("strict: configured %v ok %v", configured, ok)
	}
	want := room.NickPolicy{Allowed: true, Scope: room.ScopeFocus, MaxBytes: 16, Reserved: []string{"admin"}, Quarantine: 5 * time.Minute}
	if p.Nick.Allowed != want.Allowed || p.Nick.Scope != want.Scope || p.Nick.MaxBytes != want.MaxBytes ||
		p.Nick.Quarantine != want.Quarantine || len(p.Nick.Reserved) != 1 || p.Nick.Reserved[0] != "admin" {
		t.Errorf("strict nick policy = %+v, want %+v", p.Nick, want)
	}
	if p.PrivateMessages || !p.MultiplePrivate || !p.SystemMessages || p.MaxMessage != 65536 || p.DeleteWhen != room.DeleteNever {
		t.Errorf("strict policy = %+v", p)
	}

	p, configured, ok = src("adhoc")
	if !ok || configured {
		t.Fatalf("adhoc: configured %v ok %v", configured, ok)
	}
	if p.Nick.Scope != room.ScopeRoom || !p.PrivateMessages || p.MultiplePrivate || p.SystemMessages || p.MaxMessage != 65536 {
		t.Errorf("adhoc policy = %+v", p)
	}
}
