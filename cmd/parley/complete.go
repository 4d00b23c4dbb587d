package main

import (
	"sort"
	"strings"
)

// tabCompletion completes the word before the cursor on Tab: a /command at
// the start of the line, else the name of someone in the room (a name
// that starts the line gets ": ", as one addresses a person; elsewhere a
// space). Tab again, with nothing else typed in between, replaces it with
// the next candidate, round and round. It belongs to the event loop.
type tabCompletion struct {
	cands []string // with their suffixes; nil: no cycle under way
	i     int      // the candidate in place
	start int      // where the completed word starts (a byte offset)
	end   int      // where the candidate in place ends: the cursor
	text  string   // the text as the last completion left it
}

// reset ends a cycle: the next Tab completes afresh.
func (tc *tabCompletion) reset() { tc.cands = nil }

// tab answers a Tab press in text with the cursor at byte offset cursor:
// replace text[start:end] with insert. names are the candidates for
// people, commands those for /commands. ok is false when nothing
// completes the word.
func (tc *tabCompletion) tab(text string, cursor int, names, commands []string) (start, end int, insert string, ok bool) {
	if tc.cands != nil && cursor == tc.end && text == tc.text {
		start, end = tc.start, tc.end
		tc.i = (tc.i + 1) % len(tc.cands)
	} else {
		tc.cands = nil
		if cursor < 0 || cursor > len(text) {
			return 0, 0, "", false
		}
		start = strings.LastIndexAny(text[:cursor], " \t\n") + 1
		cands := completions(text[start:cursor], start == 0, names, commands)
		if len(cands) == 0 {
			return 0, 0, "", false
		}
		tc.cands, tc.i, tc.start, end = cands, 0, start, cursor
	}
	insert = tc.cands[tc.i]
	tc.end = start + len(insert)
	tc.text = text[:start] + insert + text[end:]
	return start, end, insert, true
}

// completions are the candidates for word, each with what follows it:
// commands (word starts with "/" at the start of the line) and names
// starting with word, ignoring case and a leading "@" or "~", sorted.
func completions(word string, lineStart bool, names, commands []string) []string {
	var out []string
	if lineStart && strings.HasPrefix(word, "/") {
		for _, c := range commands {
			if strings.HasPrefix(c, strings.ToLower(word)) {
				out = append(out, c+" ")
			}
		}
		return out
	}
	at := ""
	if strings.HasPrefix(word, "@") {
		at, word = "@", word[1:]
	}
	word = strings.ToLower(strings.TrimPrefix(word, "~"))
	suffix := " "
	if lineStart {
		suffix = ": "
	}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] || !strings.HasPrefix(strings.ToLower(n), word) {
			continue
		}
		seen[n] = true
		out = append(out, at+n+suffix)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := strings.ToLower(out[i]), strings.ToLower(out[j])
		if a != b {
			return a < b
		}
		return out[i] < out[j]
	})
	return out
}

// completionNames are the names Tab offers for the room's members: each
// nickname, else the user part of the URI (what parley shows as "~user");
// never our own.
func completionNames(ms []member, self string) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.URI == self {
			continue
		}
		n := m.Nickname
		if n == "" {
			n = strings.TrimPrefix(uriName(m.URI), "~")
		}
		out = append(out, n)
	}
	return out
}

// maxInputHistory bounds the lines Up and Down recall.
const maxInputHistory = 500

// inputHistory is the lines entered in this session, recalled with Up and
// Down as in a shell: Up goes back, Down forward, and past the newest line
// Down gives back what was being typed before. It belongs to the event
// loop.
type inputHistory struct {
	lines []string // oldest first
	pos   int      // the line shown: len(lines) when none (the draft)
	draft string   // what was typed before Up
}

// add records an entered line (not a repeat of the one before) and ends
// browsing.
func (h *inputHistory) add(line string) {
	if strings.TrimSpace(line) != "" && (len(h.lines) == 0 || h.lines[len(h.lines)-1] != line) {
		h.lines = append(h.lines, line)
		if len(h.lines) > maxInputHistory {
			h.lines = append([]string(nil), h.lines[len(h.lines)-maxInputHistory:]...)
		}
	}
	h.pos, h.draft = len(h.lines), ""
}

// up is the line before the one shown (current is what the input holds
// now); ok is false at the oldest.
func (h *inputHistory) up(current string) (string, bool) {
	if h.pos > len(h.lines) {
		h.pos = len(h.lines)
	}
	if h.pos == 0 {
		return "", false
	}
	if h.pos == len(h.lines) {
		h.draft = current
	}
	h.pos--
	return h.lines[h.pos], true
}

// down is the line after the one shown, or the draft after the newest;
// ok is false when not browsing.
func (h *inputHistory) down() (string, bool) {
	if h.pos >= len(h.lines) {
		return "", false
	}
	h.pos++
	if h.pos == len(h.lines) {
		d := h.draft
		h.draft = ""
		return d, true
	}
	return h.lines[h.pos], true
}

// browsing reports whether a recalled line is shown.
func (h *inputHistory) browsing() bool { return h.pos < len(h.lines) }
