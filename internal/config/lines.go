package config

import (
	"strconv"
	"strings"
)

// keyLines maps the key paths a TOML file defines to their 1-based lines:
// "msrp" for a [msrp] header, "msrp.max_chunk" for a key in it,
// "room[1]" for the second [[room]] header, "room[1].name" for a key in
// it. toml keeps key positions private, and keeps one position for a key
// of every element of an array of tables, so error positions come from this
// scan. It runs on text toml has already parsed and is deliberately simple:
// a key it misses (in an inline table, for one) is located by its nearest
// ancestor.
func keyLines(src string) map[string]int {
	lines := map[string]int{}
	arrays := map[string]int{} // array-of-tables path → elements so far
	table := ""
	closer := "" // the delimiter of an open multi-line string
	for n, line := range strings.Split(src, "\n") {
		s := strings.TrimSpace(line)
		if closer != "" {
			if strings.Count(s, closer)%2 == 1 {
				closer = ""
			}
			continue
		}
		if s == "" || s[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(s, "[["); ok {
			if key, rest, ok := parseKeyPath(rest); ok && strings.HasPrefix(rest, "]]") {
				p := resolve(key, arrays)
				table = p + "[" + strconv.Itoa(arrays[p]) + "]"
				arrays[p]++
				setLine(lines, table, n+1)
			}
			continue
		}
		if rest, ok := strings.CutPrefix(s, "["); ok {
			if key, rest, ok := parseKeyPath(rest); ok && strings.HasPrefix(rest, "]") {
				table = resolve(key, arrays)
				setLine(lines, table, n+1)
			}
			continue
		}
		key, rest, ok := parseKeyPath(s)
		if !ok || !strings.HasPrefix(rest, "=") {
			continue
		}
		p := table
		for _, k := range key { // a.b.c = 1 also defines a and a.b
			p = joinKey(p, k)
			setLine(lines, p, n+1)
		}
		for _, delim := range []string{`"""`, `'''`} {
			if strings.Count(rest, delim)%2 == 1 {
				closer = delim
			}
		}
	}
	return lines
}

func setLine(lines map[string]int, key string, line int) {
	if _, ok := lines[key]; !ok {
		lines[key] = line
	}
}

// resolve turns a table name into a key path, indexing every proper prefix
// that is an array of tables by its latest element: [room.x] after two
// [[room]] is "room[1].x".
func resolve(key []string, arrays map[string]int) string {
	p := ""
	for i, k := range key {
		p = joinKey(p, k)
		if n := arrays[p]; n > 0 && i < len(key)-1 {
			p += "[" + strconv.Itoa(n-1) + "]"
		}
	}
	return p
}

// parseKeyPath reads a dotted TOML key (bare, "quoted" or 'literal' parts)
// at the start of s and returns its parts and the rest of s after
// whitespace.
func parseKeyPath(s string) (key []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		var part string
		switch {
		case s == "":
			return nil, "", false
		case s[0] == '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, "", false
			}
			u, err := strconv.Unquote(s[:end+1])
			if err != nil {
				u = s[1:end]
			}
			part, s = u, s[end+1:]
		case s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, "", false
			}
			part, s = s[1:end+1], s[end+2:]
		default:
			end := 0
			for end < len(s) && isBareKeyChar(s[end]) {
				end++
			}
			if end == 0 {
				return nil, "", false
			}
			part, s = s[:end], s[end:]
		}
		key = append(key, part)
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return key, s, true
		}
		s = s[1:]
	}
}

func isBareKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}
