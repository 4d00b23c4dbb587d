package config

import (
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Load reads the TOML file at path over Default and validates the result.
// On failure the error is Errors, holding every problem found: TOML syntax
// (file:line:col), unknown keys, values of the wrong type and failed
// validation, each with its key path and, when the key is in the file, its
// line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{Err: err}}
	}
	return Parse(path, data)
}

// Parse is Load for a file already read; name is used in error positions.
func Parse(name string, data []byte) (*Config, error) {
	c := Default()
	src, errs := decode(c, name, data)
	if src == nil { // a syntax error: nothing was decoded
		return nil, errs
	}
	errs = append(errs, src.locate(c.validate(), nil)...)
	if len(errs) > 0 {
		return nil, errs
	}
	c.index()
	return c, nil
}

// decode parses data as TOML and decodes it into c, over the values c
// already holds. Each key is decoded on its own, so that every unknown key
// and every badly typed value is reported, not only the first; a key in
// error keeps its previous value (a list with one bad element keeps its
// previous list). src is nil after a TOML syntax error.
//
// toml's struct decoder is not used: it stops at the first type error and
// matches keys case-insensitively. The file is decoded into a generic tree
// and walked against the toml tags of Config instead.
func decode(c *Config, name string, data []byte) (src *source, errs Errors) {
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		if pe, ok := errors.AsType[toml.ParseError](err); ok {
			return nil, Errors{{File: name, Line: pe.Position.Line, Col: pe.Position.Col, Err: errors.New(pe.Message)}}
		}
		return nil, Errors{{File: name, Err: err}}
	}
	src = &source{file: name, lines: keyLines(string(data)), present: map[string]bool{}}
	d := decoder{src: src}
	d.table("", tree, reflect.ValueOf(c).Elem())
	return src, src.locate(d.errs, nil)
}

// source remembers where keys are in a configuration file.
type source struct {
	file    string
	lines   map[string]int  // key path → line of its definition
	present map[string]bool // key paths the file sets
}

// locate fills in the position of each error: the flag that set its key,
// or its line in the file. A key the file does not set gets no position,
// unless it belongs to an array element ([[room]]) the file defines.
func (s *source) locate(errs Errors, flags map[string]string) Errors {
	for _, e := range errs {
		if e.Key == "" || e.File != "" || e.Flag != "" {
			continue
		}
		if f, ok := flags[e.Key]; ok {
			e.Flag = f
			continue
		}
		if s == nil {
			continue
		}
		present := s.present[e.Key]
		for k := e.Key; k != ""; k = parentKey(k) {
			if !present && !strings.HasSuffix(k, "]") {
				continue
			}
			if line, ok := s.lines[k]; ok {
				e.File, e.Line = s.file, line
				break
			}
		}
	}
	return errs
}

// parentKey strips the last element of a key path: "room[1].name" →
// "room[1]" → "room" → "".
func parentKey(k string) string {
	if strings.HasSuffix(k, "]") {
		if i := strings.LastIndexByte(k, '['); i >= 0 {
			return k[:i]
		}
	}
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i]
	}
	return ""
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decoder walks a decoded TOML tree against a struct's toml tags.
type decoder struct {
	src  *source
	errs Errors
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	byteSizeType        = reflect.TypeFor[ByteSize]()
	durationType        = reflect.TypeFor[Duration]()
)

// table decodes the TOML table m into the struct v, key by key, in file
// order.
func (d *decoder) table(path string, m map[string]any, v reflect.Value) {
	fields := tomlFields(v.Type())
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		la, lb := d.line(joinKey(path, a)), d.line(joinKey(path, b))
		return cmp.Or(cmp.Compare(la, lb), cmp.Compare(a, b))
	})
	for _, k := range keys {
		kp := joinKey(path, k)
		d.src.present[kp] = true
		index, ok := fields[k]
		if !ok {
			d.errs.add(kp, unknownKey(k, fields))
			continue
		}
		d.value(kp, m[k], v.FieldByIndex(index))
	}
}

func (d *decoder) line(key string) int {
	if l, ok := d.src.lines[key]; ok {
		return l
	}
	return int(^uint(0) >> 1)
}

// value decodes x into v. v is changed only when x fits it.
func (d *decoder) value(key string, x any, v reflect.Value) bool {
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		p := reflect.New(t.Elem())
		if !d.value(key, x, p.Elem()) {
			return false
		}
		v.Set(p)
		return true
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		if n, ok := x.(int64); ok && t == byteSizeType {
			v.SetInt(n)
			return true
		}
		s, ok := x.(string)
		if !ok {
			return d.mismatch(key, t, x)
		}
		p := reflect.New(t)
		if err := p.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.errs.add(key, err)
			return false
		}
		v.Set(p.Elem())
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := x.(map[string]any)
		if !ok {
			return d.mismatch(key, t, x)
		}
		d.table(key, m, v)
		return true
	case reflect.Slice:
		return d.slice(key, x, v)
	case reflect.String:
		s, ok := x.(string)
		if !ok {
			return d.mismatch(key, t, x)
		}
		v.SetString(s)
		return true
	case reflect.Bool:
		b, ok := x.(bool)
		if !ok {
			return d.mismatch(key, t, x)
		}
		v.SetBool(b)
		return true
	case reflect.Int, reflect.Int64:
		n, ok := x.(int64)
		if !ok {
			return d.mismatch(key, t, x)
		}
		if v.OverflowInt(n) {
			d.errs.addf(key, fmt.Sprintf("%d is out of range", n))
			return false
		}
		v.SetInt(n)
		return true
	}
	panic("config: no decoding for " + t.String()) // a programming error in Config
}

// slice decodes a TOML array into a slice, or an array of tables into a
// slice of structs (one table per element, decoded even if another fails).
func (d *decoder) slice(key string, x any, v reflect.Value) bool {
	t := v.Type()
	var elems []any
	switch x := x.(type) {
	case []any:
		elems = x
	case []map[string]any: // [[table]]
		for _, m := range x {
			elems = append(elems, m)
		}
	default:
		return d.mismatch(key, t, x)
	}
	s := reflect.MakeSlice(t, len(elems), len(elems))
	ok := true
	for i, x := range elems {
		k := fmt.Sprintf("%s[%d]", key, i)
		d.src.present[k] = true
		ok = d.value(k, x, s.Index(i)) && ok
	}
	if !ok && t.Elem().Kind() != reflect.Struct {
		return false
	}
	v.Set(s)
	return true
}

func (d *decoder) mismatch(key string, t reflect.Type, x any) bool {
	d.errs.addf(key, fmt.Sprintf("expected %s, found %s", describeType(t), describeValue(x)))
	return false
}

// describeType says what TOML value a field takes.
func describeType(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration string such as "30s"`
	case t == byteSizeType:
		return `a size: an integer, or a string such as "4MiB"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Struct:
		return "a table"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "an array of tables"
		}
		return "an array of strings"
	}
	return t.String()
}

// describeValue names the TOML type of a decoded value, with the value
// when it is short.
func describeValue(x any) string {
	switch x := x.(type) {
	case string:
		return "string " + strconv.Quote(x)
	case int64:
		return "integer " + strconv.FormatInt(x, 10)
	case float64:
		return "float " + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time: // toml gives local dates and times as time.Time too
		return "a date-time"
	}
	return fmt.Sprintf("%T", x)
}

// tomlFields maps the toml keys of struct type t to field index paths;
// embedded structs without a tag contribute their own keys.
func tomlFields(t reflect.Type) map[string][]int {
	fields := map[string][]int{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() {
			continue
		}
		if name := f.Tag.Get("toml"); name != "" && name != "-" {
			fields[name] = f.Index
		}
	}
	return fields
}

// unknownKey reports key as unknown, suggesting a known key spelled
// closely.
func unknownKey(key string, fields map[string][]int) error {
	best, bestDist := "", 3
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if dist := editDistance(strings.ToLower(key), name); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if best != "" {
		return fmt.Errorf("unknown key (did you mean %q?)", best)
	}
	return errors.New("unknown key")
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
