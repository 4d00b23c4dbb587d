package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/store"
	"github.com/parley-im/parley/internal/switchboard"
)

// The store (issue 16): rooms' messages and participants' cursors in NATS
// JetStream (internal/store, the only package that imports NATS), given to
// the switch as its switchboard.History. A room is kept under its
// canonical URI, sip:<name>@<server.host>.

// OpenStore opens the store cfg asks for, as parleyd does, for the
// commands that manage what it keeps while no parleyd uses it (parleyd
// user …). The caller closes it.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	sc := storeConfig(cfg, log)
	return store.Open(ctx, sc)
}

// storeConfig is the store configuration cfg asks for.
func storeConfig(cfg *config.Config, log *slog.Logger) store.Config {
	sc := store.Config{
		Mode:            string(cfg.Store.Mode),
		DataDir:         cfg.Server.DataDir,
		MaxMessageBytes: min(int(cfg.MSRP.MaxMessage), store.MaxMessageBytesLimit),
		Logger:          log,
	}
	if cfg.Store.URL != "" {
		sc.Mode, sc.URL = store.ModeURL, cfg.Store.URL
	}
	sc.MaxHistory, sc.MaxAge = historyBounds(cfg)
	return sc
}

// openStore opens the store cfg asks for. A store that cannot be opened
// because its data are in a format this build does not know fails the
// start (a newer parleyd wrote them: running on would lose them); any
// other failure (a read-only or full data directory, an external server
// that does not answer) leaves parleyd serving chat with history in
// memory only, and says so.
func openStore(cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	// The store opens even when no room keeps history: it keeps the
	// accounts (issue 17), which must never silently vanish. Its stream
	// limits are then the store's defaults; no message is appended.
	sc := storeConfig(cfg, log)
	ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
	defer cancel()
	st, err := store.Open(ctx, sc)
	switch {
	case errors.Is(err, store.ErrFormat):
		return nil, fmt.Errorf("store in %s: %w (written by a newer parleyd?); move it away or run that version", storeWhere(sc), err)
	case err != nil:
		log.Error("store unavailable: history is kept in memory only and is lost on restart", "store", storeWhere(sc), "error", err)
		return nil, nil
	}
	log.Info("store open", "mode", sc.Mode, "where", storeWhere(sc), "max_history", sc.MaxHistory, "max_age", sc.MaxAge.String())
	return st, nil
}

// storeOpenTimeout bounds opening the store at start.
const storeOpenTimeout = 30 * time.Second

// storeWhere says where a store's data are, for the log.
func storeWhere(sc store.Config) string {
	switch sc.Mode {
	case store.ModeURL:
		return sc.URL
	case store.ModeMemory:
		return "memory"
	}
	return filepath.Join(sc.DataDir, "nats")
}

// historyBounds are the most messages and the oldest any room keeps: the
// store's limits, over [rooms] and every [[room]].
func historyBounds(cfg *config.Config) (n int, age time.Duration) {
	consider := func(p config.Policy) {
		if p.History > 0 {
			n = max(n, p.History)
			age = max(age, p.HistoryMaxAge.Std())
		}
	}
	consider(cfg.Rooms.Policy)
	for _, r := range cfg.Room {
		p, _ := cfg.RoomPolicy(r.Name)
		consider(p)
	}
	return n, age
}

// storeHistory is the store as the switch's History.
type storeHistory struct {
	st   *store.Store
	host string
}

func (h storeHistory) room(name string) string { return "sip:" + name + "@" + h.host }

func (h storeHistory) Append(room string, m switchboard.Stored, done func(uint64, error)) {
	h.st.Append(store.Message{Room: h.room(room), Received: m.Received, Sender: m.Sender, Body: m.Body}, done)
}

func (h storeHistory) Last(ctx context.Context, room string, n int, maxAge time.Duration) ([]switchboard.Stored, error) {
	ms, err := h.st.Last(ctx, h.room(room), n, maxAge)
	if err != nil {
		return nil, err
	}
	out := make([]switchboard.Stored, len(ms))
	for i, m := range ms {
		out[i] = switchboard.Stored{Seq: m.Seq, Received: m.Received, Sender: m.Sender, Body: m.Body}
	}
	return out, nil
}

func (h storeHistory) SetCursor(room, participant string, seq uint64) {
	h.st.SetCursor(h.room(room), participant, seq)
}

func (h storeHistory) Cursor(ctx context.Context, room, participant string) (uint64, bool, error) {
	return h.st.Cursor(ctx, h.room(room), participant)
}
