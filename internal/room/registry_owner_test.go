package room

import (
	"errors"
	"strings"
	"testing"
)

// TestJoinAsOwner: the room JoinAs creates ad hoc carries its owner until
// it is deleted; joining an existing or configured room creates nothing.
func TestJoinAsOwner(t *testing.T) {
	conf := map[string]Policy{"lobby": {DeleteWhen: DeleteNever}}
	r := NewRegistry(policies(conf, true, Policy{}), 0)
	rm, created, err := r.JoinAs("adhoc", part("a"), "owner-a")
	if err != nil || !created || rm.Owner() != "owner-a" {
		t.Fatalf("JoinAs: %v %v %v", created, rm.Owner(), err)
	}
	if _, created, _ := r.JoinAs("adhoc", part("b"), "owner-b"); created || rm.Owner() != "owner-a" {
		t.Fatalf("second JoinAs: created %v, owner %v", created, rm.Owner())
	}
	lobby, created, err := r.JoinAs("lobby", part("c"), "owner-c")
	if err != nil || created || lobby.Owner() != nil {
		t.Fatalf("configured room: created %v, owner %v, %v", created, lobby.Owner(), err)
	}
}

// TestMaxNameBytes: a name over the limit is ErrNameTooLong for Join and
// Open; at the limit it is a room.
func TestMaxNameBytes(t *testing.T) {
	r := NewRegistry(policies(nil, true, Policy{}), 0, WithMaxNameBytes(8))
	if _, err := r.Join(strings.Repeat("x", 9), part("a")); !errors.Is(err, ErrNameTooLong) {
		t.Fatalf("Join: %v", err)
	}
	if _, err := r.Open(strings.Repeat("x", 9)); !errors.Is(err, ErrNameTooLong) {
		t.Fatalf("Open: %v", err)
	}
	if !r.NameTooLong(strings.Repeat("x", 9)) || r.NameTooLong(strings.Repeat("x", 8)) {
		t.Fatal("NameTooLong")
	}
	if _, err := r.Join(strings.Repeat("x", 8), part("a")); err != nil {
		t.Fatal(err)
	}
}
