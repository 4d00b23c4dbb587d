package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The embedded default.toml decodes, over an empty Config, to exactly
// Default(): the file and the code cannot drift apart.
func TestDefaultFileIsDefault(t *testing.T) {
	var c Config
	src, errs := decode(&c, "default.toml", defaultTOML)
	if src == nil || len(errs) > 0 {
		t.Fatalf("default.toml does not decode:\n%v", errs)
	}
	if want := Default(); !reflect.DeepEqual(&c, want) {
		t.Errorf("default.toml decodes to\n%+v\nDefault() is\n%+v", c, *want)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default() is invalid:\n%v", err)
	}
}

// Every key of Config (but [[room]], which has no default) is written out
// in default.toml, even those whose default is the zero value.
func TestDefaultFileHasEveryKey(t *testing.T) {
	var c Config
	src, _ := decode(&c, "default.toml", defaultTOML)
	for _, key := range keyPaths(reflect.TypeFor[Config](), "") {
		if strings.HasPrefix(key, "room.") {
			continue
		}
		if !src.present[key] {
			t.Errorf("default.toml lacks %s", key)
		}
	}
}

// The commented [[room]] example in default.toml shows every room key and
// loads once uncommented.
func TestDefaultFileRoomExample(t *testing.T) {
	var example []string
	in := false
	for line := range strings.Lines(string(defaultTOML)) {
		line = strings.TrimRight(line, "\n")
		if line == "# [[room]]" {
			in = true
		}
		if in && !strings.HasPrefix(line, "# ") {
			break
		}
		if in {
			example = append(example, strings.TrimPrefix(line, "# "))
		}
	}
	if len(example) == 0 {
		t.Fatal("no [[room]] example in default.toml")
	}
	data := string(defaultTOML) + "\n" + strings.Join(example, "\n") + "\n"
	c, err := Parse("example.toml", []byte(data))
	if err != nil {
		t.Fatalf("the uncommented example does not load:\n%v\n%s", err, strings.Join(example, "\n"))
	}
	var d Config
	src, _ := decode(&d, "example.toml", []byte(data))
	for _, key := range keyPaths(reflect.TypeFor[RoomConfig](), "room[0]") {
		if !src.present[key] {
			t.Errorf("the [[room]] example lacks %s", key)
		}
	}
	p, ok := c.RoomPolicy("lobby")
	if !ok || p.PrivateMessages || p.SystemMessages || p.MaxParticipants != 200 {
		t.Errorf("RoomPolicy(lobby) = %+v, %v", p, ok)
	}
}

// The output of -print-config loads, and gives Default().
func TestLoadPrintedDefault(t *testing.T) {
	var stdout, stderr bytes.Buffer
	_, action, err := FromArgs([]string{"-print-config"}, &stdout, &stderr)
	if err != nil || action != PrintDefault {
		t.Fatalf("FromArgs(-print-config) = %v, %v", action, err)
	}
	if !bytes.Equal(stdout.Bytes(), defaultTOML) || stderr.Len() != 0 {
		t.Fatalf("-print-config wrote %d bytes to stdout (want %d), stderr %q", stdout.Len(), len(defaultTOML), stderr.String())
	}
	path := filepath.Join(t.TempDir(), "parleyd.toml")
	if err := os.WriteFile(path, stdout.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load(printed default) = %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load(printed default) = %+v, want Default()", *c)
	}
}

func TestDefaultIsFresh(t *testing.T) {
	a := Default()
	a.Rooms.AcceptWrappedTypes[0] = "changed"
	a.Rooms.ReservedNicknames = append(a.Rooms.ReservedNicknames, "x")
	if b := Default(); b.Rooms.AcceptWrappedTypes[0] != "text/plain" || len(b.Rooms.ReservedNicknames) != 0 {
		t.Error("Default() shares its lists between calls")
	}
	if got := string(DefaultTOML()); got != string(defaultTOML) {
		t.Error("DefaultTOML() differs from the embedded file")
	}
}

// keyPaths lists the leaf key paths of a struct type, as the decoder
// names them; a slice of structs contributes "<key>.<field>".
func keyPaths(t reflect.Type, prefix string) []string {
	var keys []string
	for name, index := range tomlFields(t) {
		f := t.FieldByIndex(index)
		key := joinKey(prefix, name)
		switch {
		case f.Type.Kind() == reflect.Struct:
			keys = append(keys, keyPaths(f.Type, key)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			keys = append(keys, keyPaths(f.Type.Elem(), key)...)
		default:
			keys = append(keys, key)
		}
	}
	return keys
}
