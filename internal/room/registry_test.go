package room

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func policies(configured map[string]Policy, adhoc bool, def Policy) PolicySource {
	return func(name string) (Policy, bool, bool) {
		if p, ok := configured[name]; ok {
			return p, true, true
		}
		return def, false, adhoc
	}
}

func part(id string) *Participant { return &Participant{ID: id, URI: "sip:" + id + "@example.com"} }

func TestAdHocRoomLifecycle(t *testing.T) {
	r := NewRegistry(policies(nil, true, Policy{DeleteWhen: DeleteWhenLastLeaves}), 0)
	rm, err := r.Join("chat", part("a"))
	if err != nil || rm.Name != "chat" || rm.Configured {
		t.Fatalf("%+v %v", rm, err)
	}
	if _, err := r.Join("chat", part("b")); err != nil {
		t.Fatal(err)
	}
	if got := len(r.Members(rm)); got != 2 {
		t.Fatalf("%d members", got)
	}
	if del, _ := r.Leave(rm, "a"); del {
		t.Fatal("deleted with a member left")
	}
	if del, evict := r.Leave(rm, "b"); !del || len(evict) != 0 {
		t.Fatalf("last leaves: deleted %v evict %v", del, evict)
	}
	if _, ok := r.Get("chat"); ok || r.Len() != 0 {
		t.Fatal("room survives")
	}
	// a new INVITE creates a fresh room
	rm2, err := r.Join("chat", part("c"))
	if err != nil || rm2 == rm {
		t.Fatal("room not recreated")
	}
}

func TestCreatorLeaves(t *testing.T) {
	r := NewRegistry(policies(nil, true, Policy{DeleteWhen: DeleteWhenCreatorLeaves}), 0)
	rm, _ := r.Join("x", part("creator"))
	r.Join("x", part("b"))
	r.Join("x", part("c"))
	if del, _ := r.Leave(rm, "b"); del {
		t.Fatal("deleted when a non-creator left")
	}
	del, evict := r.Leave(rm, "creator")
	if !del || len(evict) != 1 || evict[0].ID != "c" {
		t.Fatalf("creator leaves: %v %v", del, evict)
	}
	if _, err := r.Join("x", part("d")); err != nil {
		t.Fatal("a new room can start after deletion:", err)
	}
}

func TestConfiguredRooms(t *testing.T) {
	conf := map[string]Policy{"lobby": {DeleteWhen: DeleteNever, MaxParticipants: 2}}
	r := NewRegistry(policies(conf, false, Policy{}), 0)
	if _, err := r.Join("other", part("a")); !errors.Is(err, ErrNoSuchRoom) {
		t.Fatalf("unconfigured room in configured mode: %v", err)
	}
	if _, ok := r.Lookup("lobby"); !ok {
		t.Fatal("configured room exists before anyone joins")
	}
	rm, err := r.Join("lobby", part("a"))
	if err != nil || !rm.Configured {
		t.Fatal(err)
	}
	r.Join("lobby", part("b"))
	if _, err := r.Join("lobby", part("c")); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("full room: %v", err)
	}
	r.Leave(rm, "a")
	if del, _ := r.Leave(rm, "b"); del {
		t.Fatal("a never-delete room was deleted")
	}
	if _, ok := r.Get("lobby"); !ok {
		t.Fatal("configured room gone")
	}
}

func TestMaxRoomsAndDuplicates(t *testing.T) {
	r := NewRegistry(policies(nil, true, Policy{}), 2)
	r.Join("a", part("1"))
	r.Join("b", part("2"))
	if _, err := r.Join("c", part("3")); !errors.Is(err, ErrTooManyRooms) {
		t.Fatalf("room limit: %v", err)
	}
	if _, err := r.Join("a", part("1")); !errors.Is(err, ErrAlreadyIn) {
		t.Fatalf("duplicate: %v", err)
	}
}

func TestConcurrentJoinLeave(t *testing.T) {
	r := NewRegistry(policies(nil, true, Policy{}), 0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprintf("%d-%d", g, i)
				rm, err := r.Join(fmt.Sprintf("room%d", i%3), part(id))
				if err != nil {
					if errors.Is(err, ErrRoomDeleted) {
						continue
					}
					t.Error(err)
					return
				}
				r.Leave(rm, id)
			}
		})
	}
	wg.Wait()
	if r.Len() != 0 {
		t.Errorf("%d rooms left after everyone left", r.Len())
	}
}

// Issue 19: with WithNames, names that share a key are one room, named
// as canonical says (a configured spelling) or as it was first joined.
func TestRegistryNames(t *testing.T) {
	conf := map[string]Policy{"Lobby": {DeleteWhen: DeleteNever}}
	fold := func(name string) string {
		for k := range conf {
			if strings.EqualFold(k, name) {
				return k
			}
		}
		return name
	}
	src := func(name string) (Policy, bool, bool) {
		if p, ok := conf[fold(name)]; ok {
			return p, true, true
		}
		return Policy{DeleteWhen: DeleteWhenLastLeaves}, false, true
	}
	r := NewRegistry(src, 0, WithNames(strings.ToLower, fold))
	rm, err := r.Join("LOBBY", part("a"))
	if err != nil || rm.Name != "Lobby" {
		t.Fatalf("Join(LOBBY) = %+v, %v; want the configured room Lobby", rm, err)
	}
	if rm2, err := r.Join("lobby", part("b")); err != nil || rm2 != rm {
		t.Fatalf("Join(lobby) = %p, %v; want the same room", rm2, err)
	}
	adhoc, err := r.Join("Chat", part("c"))
	if err != nil || adhoc.Name != "Chat" {
		t.Fatalf("Join(Chat) = %+v, %v", adhoc, err)
	}
	if got := r.Canonical("CHAT"); got != "Chat" {
		t.Errorf("Canonical(CHAT) = %q, want the first spelling", got)
	}
	if got, ok := r.Get("chat"); !ok || got != adhoc {
		t.Error("Get(chat) misses the room")
	}
	if del, _ := r.Leave(adhoc, "c"); !del {
		t.Fatal("the last to leave did not delete the ad hoc room")
	}
	if _, ok := r.Get("Chat"); ok || r.Canonical("CHAT") != "CHAT" {
		t.Error("the deleted room is still found")
	}
	if _, _, ok := r.Delete("LoBbY"); !ok {
		t.Error("Delete(LoBbY) did not find Lobby")
	}
	// Without WithNames, names compare exactly.
	exact := NewRegistry(src, 0)
	a, _ := exact.Join("x", part("d"))
	b, _ := exact.Join("X", part("e"))
	if a == b {
		t.Error("x and X are one room without WithNames")
	}
}
