package room

import (
	"errors"
	"fmt"
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
