package config

import (
	"reflect"
	"testing"
)

func TestRoomPolicy(t *testing.T) {
	c, err := Parse("rooms.toml", []byte(`
[rooms]
nicknames = true
private_messages = true
reserved_nicknames = ["admin"]

[[room]]
name = "plain"

[[room]]
name = "strict"
nicknames = false
private_messages = false
system_messages = false
reserved_nicknames = []
delete_when = "creator-leaves"
`))
	if err != nil {
		t.Fatal(err)
	}
	def := Default().Rooms.Policy
	def.ReservedNicknames = []string{"admin"}

	// Not configured: the [rooms] policy as is.
	p, ok := c.RoomPolicy("adhoc-room")
	if ok || !reflect.DeepEqual(p, def) {
		t.Errorf("RoomPolicy(adhoc-room) = %+v, %v; want %+v, false", p, ok, def)
	}

	// Configured, no override: the [rooms] policy, but never deleted.
	want := def
	want.DeleteWhen = DeleteNever
	if p, ok := c.RoomPolicy("plain"); !ok || !reflect.DeepEqual(p, want) {
		t.Errorf("RoomPolicy(plain) = %+v, %v; want %+v, true", p, ok, want)
	}

	// Overrides to false and to an empty list win over true and a list.
	want = def
	want.Nicknames, want.PrivateMessages, want.SystemMessages = false, false, false
	want.ReservedNicknames = []string{}
	want.DeleteWhen = DeleteCreatorLeaves
	if p, ok := c.RoomPolicy("strict"); !ok || !reflect.DeepEqual(p, want) {
		t.Errorf("RoomPolicy(strict) = %+v, %v; want %+v, true", p, ok, want)
	}

	// Names compare case-insensitively by default (issue 19); exactly, as
	// SIP user parts do, with rooms.case_sensitive_names.
	if _, ok := c.RoomPolicy("Plain"); !ok {
		t.Error("RoomPolicy(Plain) did not find room plain")
	}
	if got := c.CanonicalRoomName("PLAIN"); got != "plain" {
		t.Errorf("CanonicalRoomName(PLAIN) = %q, want the configured name", got)
	}
	if got := c.CanonicalRoomName("Elsewhere"); got != "Elsewhere" {
		t.Errorf("CanonicalRoomName(Elsewhere) = %q, want the name itself", got)
	}
	c.Rooms.CaseSensitiveNames = true
	c.index()
	if _, ok := c.RoomPolicy("Plain"); ok {
		t.Error("RoomPolicy(Plain) found room plain with case_sensitive_names")
	}
	c.Rooms.CaseSensitiveNames = false
	c.index()

	// The lists returned are copies.
	p, _ = c.RoomPolicy("plain")
	p.ReservedNicknames[0] = "changed"
	p.AcceptWrappedTypes[0] = "changed"
	if q, _ := c.RoomPolicy("plain"); q.ReservedNicknames[0] != "admin" || q.AcceptWrappedTypes[0] != "text/plain" {
		t.Error("RoomPolicy shares its lists with the Config")
	}
}

// A Config built in code (no index) finds its rooms too.
func TestFindRoomWithoutIndex(t *testing.T) {
	c := Default()
	c.Room = []RoomConfig{{Name: "a"}, {Name: "b", Subject: "B"}}
	if r := c.FindRoom("b"); r == nil || r.Subject != "B" {
		t.Errorf("FindRoom(b) = %+v", r)
	}
	if r := c.FindRoom("c"); r != nil {
		t.Errorf("FindRoom(c) = %+v", r)
	}
	c.index()
	if r := c.FindRoom("b"); r == nil || r.Subject != "B" {
		t.Errorf("indexed FindRoom(b) = %+v", r)
	}
	if r := c.FindRoom("c"); r != nil {
		t.Errorf("indexed FindRoom(c) = %+v", r)
	}
}

// PolicyOverride mirrors Policy field for field, and Apply copies every
// field: set each override to a value different from the default and
// check that it comes through.
func TestPolicyOverrideCoversPolicy(t *testing.T) {
	pt, ot := reflect.TypeFor[Policy](), reflect.TypeFor[PolicyOverride]()
	if pt.NumField() != ot.NumField() {
		t.Fatalf("Policy has %d fields, PolicyOverride %d", pt.NumField(), ot.NumField())
	}
	base := Default().Rooms.Policy
	var o PolicyOverride
	ov := reflect.ValueOf(&o).Elem()
	for i := range pt.NumField() {
		pf, of := pt.Field(i), ot.Field(i)
		if pf.Name != of.Name || pf.Tag != of.Tag || of.Type != reflect.PointerTo(pf.Type) {
			t.Fatalf("Policy.%s %v %q vs PolicyOverride.%s %v %q", pf.Name, pf.Type, pf.Tag, of.Name, of.Type, of.Tag)
		}
		v := reflect.New(pf.Type)
		v.Elem().Set(reflect.ValueOf(base).Field(i))
		switch e := v.Elem(); e.Kind() {
		case reflect.Bool:
			e.SetBool(!e.Bool())
		case reflect.Int, reflect.Int64:
			e.SetInt(e.Int() + 1)
		case reflect.String:
			e.SetString(e.String() + "x")
		case reflect.Slice:
			e.Set(reflect.Append(e, reflect.ValueOf("x")))
		default:
			t.Fatalf("no test value for %s", pf.Type)
		}
		ov.Field(i).Set(v)
	}
	got := o.Apply(base)
	for i := range pt.NumField() {
		if g, w := reflect.ValueOf(got).Field(i).Interface(), ov.Field(i).Elem().Interface(); !reflect.DeepEqual(g, w) {
			t.Errorf("Apply: %s = %v, want the override %v", pt.Field(i).Name, g, w)
		}
	}
	if reflect.DeepEqual(got, base) {
		t.Error("Apply changed nothing")
	}
}
