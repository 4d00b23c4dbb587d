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
