package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// lineLog is --log: every line a room shows, as plain text with its time
// (Event.Line; a message of several lines on several lines), appended to
// DIR/<room>.log. The file is created 0600 and the directory 0700: a chat
// is nobody else's business. Safe for concurrent use; a nil *lineLog logs
// nothing.
type lineLog struct {
	mu     sync.Mutex
	f      *os.File
	failed bool // a write failed: said once, then no more tries
}

// logFileName is the file under --log for room (a URI): its user part and
// host, with every character that is not safe in a file name on any
// system replaced by "_" ("sip:lobby@127.0.0.1:5060" →
// "lobby@127.0.0.1_5060.log").
func logFileName(room string) string {
	name := room
	if i := strings.IndexByte(name, ':'); i >= 0 && (strings.EqualFold(name[:i], "sip") || strings.EqualFold(name[:i], "sips")) {
		name = name[i+1:]
	}
	if i := strings.IndexAny(name, ";?"); i >= 0 {
		name = name[:i]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_', r == '@':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), ".")
	if s == "" {
		s = "room"
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s + ".log"
}

// openLog opens (appending) the log of room in dir, creating dir.
func openLog(dir, room string) (*lineLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--log: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, logFileName(room)), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--log: %w", err)
	}
	return &lineLog{f: f}, nil
}

// event appends the lines e shows. It returns the error of the first
// write that fails (the caller says so once); later events are not
// logged.
func (l *lineLog) event(e Event) error {
	if l == nil || e.Type == evTyping || markup(e) == "" {
		return nil // not shown in the message pane: not logged
	}
	lines := plainLines(e)
	if len(lines) == 0 {
		return nil
	}
	text := strings.Join(lines, "\n") + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil || l.failed {
		return nil
	}
	if _, err := l.f.WriteString(text); err != nil {
		l.failed = true
		return fmt.Errorf("--log: %w; no longer logging", err)
	}
	return nil
}

// close closes the file; later events are not logged.
func (l *lineLog) close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
