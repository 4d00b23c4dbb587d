package server

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRateLimitedLogs(t *testing.T) {
	var buf bytes.Buffer
	h := newRateLimited(slog.NewTextHandler(&buf, nil), 5, time.Second)
	now := time.Unix(1000, 0)
	h.state.now = func() time.Time { return now }
	log := slog.New(h).With("component", "sip") // derived handlers share the budget
	for range 1000 {
		log.Error("failed to parse", "data", "junk")
	}
	if n := strings.Count(buf.String(), "failed to parse"); n != 5 {
		t.Fatalf("%d records passed in one interval, want 5", n)
	}
	now = now.Add(time.Second)
	log.Info("next")
	out := buf.String()
	if !strings.Contains(out, "suppressed=995") || !strings.Contains(out, "msg=next") {
		t.Fatalf("no summary of the suppressed records:\n%s", out)
	}
	if !h.Enabled(context.Background(), slog.LevelInfo) || h.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("Enabled must follow the wrapped handler")
	}
}

// sipgo's error for a read its peer reset is logged at info: a client that
// quits with an answer unread is routine; other errors stay errors.
func TestPeerResetIsNotAnError(t *testing.T) {
	var buf bytes.Buffer
	log := SIPGoLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	log.Error("Read error", "error", "read tcp 127.0.0.1:5060->127.0.0.1:40000: read: connection reset by peer")
	log.Error("Read error", "error", "write tcp 127.0.0.1:5060->127.0.0.1:40000: write: broken pipe")
	log.Error("failed to parse", "error", "bad start line")
	// An ACK read as its connection closed: nothing to answer it on, and
	// an ACK needs no answer. The same failure for another request stays
	// an error.
	log.Error("Server tx failed to handle request", "error", "server tx get connection failed: dial tcp 127.0.0.1:5060: connect: connection refused", "req", "ACK sip:room@127.0.0.1 SIP/2.0")
	log.Error("Server tx failed to handle request", "error", "server tx get connection failed: dial tcp 127.0.0.1:5060: connect: connection refused", "req", "INVITE sip:room@127.0.0.1 SIP/2.0")
	out := buf.String()
	if strings.Count(out, "level=INFO msg=\"Read error\"") != 2 || strings.Count(out, "level=ERROR") != 2 || !strings.Contains(out, "level=ERROR msg=\"failed to parse\"") ||
		!strings.Contains(out, `level=INFO msg="Server tx failed to handle request"`) || !strings.Contains(out, `level=ERROR msg="Server tx failed to handle request"`) {
		t.Fatalf("levels:\n%s", out)
	}
	buf.Reset()
	quiet := SIPGoLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	quiet.Error("Read error", "error", "read: connection reset by peer")
	if buf.Len() != 0 {
		t.Fatalf("an info record passed a warn handler: %s", buf.String())
	}
}
