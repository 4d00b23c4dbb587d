package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Room overlays (issue 18's admin API): rooms made or reconfigured at run
// time are [[room]] tables given as JSON objects with the same keys. A
// room's overlay is laid over the file's [[room]] of that name, key by key
// (or makes a new [[room]] when the file has none), and the result is
// validated like a file.

// WithRoomOverlays returns a copy of c with every overlay applied: the
// file's [[room]] entries keep their order, overlays of rooms the file
// does not name are appended in name order. Every problem of every overlay
// is reported (Errors, keys named "room <name>: key"); c is not changed.
func (c *Config) WithRoomOverlays(overlays map[string]map[string]any) (*Config, error) {
	n := *c
	n.Room = slices.Clone(c.Room)
	var errs Errors
	names := make([]string, 0, len(overlays))
	for name := range overlays {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		over, subjectSet, es := parseRoomKeys(name, overlays[name])
		if len(es) > 0 {
			errs = append(errs, es...)
			continue
		}
		i := slices.IndexFunc(n.Room, func(r RoomConfig) bool { return n.RoomKey(r.Name) == n.RoomKey(name) })
		if i < 0 {
			n.Room = append(n.Room, RoomConfig{Name: name})
			i = len(n.Room) - 1
		}
		mergeRoom(&n.Room[i], &over, subjectSet)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	n.rooms = nil
	if es := n.validate(); len(es) > 0 {
		return nil, es
	}
	n.index()
	return &n, nil
}

// parseRoomKeys decodes keys, a [[room]] table as a JSON object (without
// or with its "name", which must then be name), with the configuration's
// own decoder: unknown keys and badly typed values are reported.
func parseRoomKeys(name string, keys map[string]any) (RoomConfig, bool, Errors) {
	where := "room " + name
	t := make(map[string]any, len(keys)+1)
	for k, v := range keys {
		v, err := tomlValue(v)
		if err != nil {
			return RoomConfig{}, false, Errors{{Key: where + ": " + k, Err: err}}
		}
		t[k] = v
	}
	if v, ok := t["name"]; ok && v != name {
		return RoomConfig{}, false, Errors{{Key: where + ": name", Err: fmt.Errorf("%v is not the room's name", v)}}
	}
	t["name"] = name
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(map[string]any{"room": []map[string]any{t}}); err != nil {
		return RoomConfig{}, false, Errors{{Key: where, Err: err}}
	}
	d := Default()
	src, errs := decode(d, where, buf.Bytes())
	if src == nil || len(errs) > 0 || len(d.Room) != 1 {
		for _, e := range errs {
			e.File, e.Line, e.Col = "", 0, 0
			e.Key = where + ": " + strings.TrimPrefix(e.Key, "room[0].")
		}
		if len(errs) == 0 {
			errs = Errors{{Key: where, Err: fmt.Errorf("not a room table")}}
		}
		return RoomConfig{}, false, errs
	}
	_, subjectSet := keys["subject"]
	return d.Room[0], subjectSet, nil
}

// tomlValue turns a value decoded from JSON (with UseNumber) into one the
// TOML encoder writes as the configuration expects: whole numbers as
// integers.
func tomlValue(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		return x.Float64()
	case float64:
		if x == float64(int64(x)) {
			return int64(x), nil
		}
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = tomlValue(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case nil:
		return nil, fmt.Errorf("null is not a value (leave the key out)")
	case string, bool:
		return x, nil
	}
	return nil, fmt.Errorf("a %T is not a value of a [[room]] key", v)
}

// mergeRoom sets in dst every key over sets.
func mergeRoom(dst, over *RoomConfig, subjectSet bool) {
	if subjectSet {
		dst.Subject = over.Subject
	}
	dv := reflect.ValueOf(&dst.PolicyOverride).Elem()
	ov := reflect.ValueOf(&over.PolicyOverride).Elem()
	for i := range ov.NumField() {
		if f := ov.Field(i); !f.IsNil() {
			dv.Field(i).Set(f)
		}
	}
}

// RoomKeys returns the [[room]] keys of the room called name as the
// effective configuration sets them, every key present: what the admin
// API shows as a room's policy.
func (c *Config) RoomKeys(name string) map[string]any {
	p, _ := c.RoomPolicy(name)
	out := map[string]any{"name": name}
	if r := c.FindRoom(name); r != nil {
		out["subject"] = r.Subject
	}
	pv := reflect.ValueOf(p)
	pt := pv.Type()
	for i := range pt.NumField() {
		tag := pt.Field(i).Tag.Get("toml")
		if tag == "" || tag == "-" {
			continue
		}
		v := pv.Field(i).Interface()
		if d, ok := v.(Duration); ok {
			v = d.String()
		}
		out[tag] = v
	}
	return out
}
