package switchboard

import (
	"sync"
	"testing"

	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp/msrptest"
)

// memRegistrar keeps registered nicknames in memory: the switch's
// Registrar and the nickname table's owners.
type memRegistrar struct {
	mu   sync.Mutex
	keys map[string]string // key → account
	fail error
}

func (r *memRegistrar) RegisterNickname(account, nick, key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if owner, ok := r.keys[key]; ok && owner != account {
		return ErrRegistered
	}
	r.keys[key] = account
	return nil
}

func (r *memRegistrar) NicknameOwner(key string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.keys[key]
	return a, ok
}

func account(name string) partyOption { return func(p *room.Participant) { p.Account = name } }
func guest(p *room.Participant)       { p.Guest = true }

// TestNicknameRegister: NICKNAME with Parley-Register: nickname from an
// account's participant grants the nickname and registers it; from then
// on it and its look-alikes are refused (425) to others in every room,
// also once its holder has left, and granted to the account's other
// sessions; a guest cannot register (403).
func TestNicknameRegister(t *testing.T) {
	reg := &memRegistrar{keys: map[string]string{}}
	h := newHarness(t, defaultPolicy(), func(_ *relay.Config, c *Config) {
		c.Registrar = reg
		c.Nicknames = room.NewNicknames(room.WithOwners(reg))
	})
	register := msrptest.WithHeader(RegisterHeader, RegisterValue)
	alice := h.join("chat", "sip:alice@example.com", account("alice"))
	g := h.join("chat", "sip:carol-x@example.com", guest)
	g.nick("carol", 403, register)
	alice.nick("Alice", 200, register)
	if owner, ok := reg.NicknameOwner(mustKey(t, "alice")); !ok || owner != "alice" {
		t.Fatalf("registered owner %q %v, want alice", owner, ok)
	}
	alice.nick("", 200) // released: still registered
	bob := h.join("lounge", "sip:bob@example.com", account("bob"))
	bob.nick("alice", 425)
	bob.nick("\u0430lice", 425)
	g.nick("ALICE", 425)
	alice2 := h.join("lounge", "sip:alice@example.com", account("alice"))
	alice2.nick("alice", 200)
	// Another account cannot register what alice holds.
	bob.nick("Bob", 200, register)
	alice.nick("bob", 425, register)
}

func mustKey(t *testing.T, nick string) string {
	t.Helper()
	_, k, err := room.NicknameKey(nick)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
