package server

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/internal/store"
)

// Rooms that last (issue 16). An ad hoc room that empties is deleted from
// the registry at once (RFC 7701 §5.3 leaves the time to the focus), but
// its history lingers in the store for its policy's empty_grace: whoever
// comes back within it finds the conversation (the switch loads the ring
// from the store when the room is made again). The store keeps a record
// per room; a room that empties gets EmptySince, and the lingerer deletes
// the history of a room empty for longer than its grace, unless it exists
// again. Configured rooms keep theirs (only the store's
// retention, history and history_max_age, applies).
//
// At start, the records of rooms that were not empty when parleyd stopped
// (a crash: no leave was recorded) are given EmptySince now, so that they
// linger like any other. The lingerer is a goroutine owned by the Server:
// started in serve, stopped by Shutdown.

// lingerer deletes the history of rooms empty for longer than their grace.
type lingerer struct {
	st       *store.Store
	host     string
	rooms    *room.Registry
	policy   room.PolicySource
	interval time.Duration
	now      func() time.Time
	log      loggerLike
	// data is what a room's record keeps in Data (the overlay of a room
	// made through the admin API, admin.go); nil or "": nothing.
	data func(name string) []byte

	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// loggerLike is the part of *slog.Logger the lingerer logs through.
type loggerLike interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

// lingerInterval is how often the lingerer looks: a tenth of the shortest
// grace, between 50 ms and a minute; a second when some room has none.
func lingerInterval(shortest time.Duration) time.Duration {
	if shortest <= 0 {
		return time.Second
	}
	return min(max(shortest/10, 50*time.Millisecond), time.Minute)
}

// shortestGrace is the shortest empty_grace of [rooms] and the [[room]]s.
func shortestGrace(cfg *config.Config) time.Duration {
	g := cfg.Rooms.EmptyGrace.Std()
	for _, r := range cfg.Room {
		p, _ := cfg.RoomPolicy(r.Name)
		g = min(g, p.EmptyGrace.Std())
	}
	return g
}

func (g *lingerer) uri(name string) string { return "sip:" + name + "@" + g.host }

// name is the room name of a canonical URI of this host, or "".
func (g *lingerer) name(uri string) string { return roomNameOf(uri, g.host) }

// roomNameOf is the room name of uri when it is a canonical room URI of
// host (sip:<name>@<host>), or "".
func roomNameOf(uri, host string) string {
	rest, ok := strings.CutPrefix(uri, "sip:")
	if !ok {
		return ""
	}
	name, h, ok := strings.Cut(rest, "@")
	if !ok || h != host {
		return ""
	}
	return name
}

// start marks the rooms a crash left without EmptySince, then sweeps every
// interval until stopped.
func (g *lingerer) start() {
	g.stop = make(chan struct{})
	g.wg.Go(func() {
		g.adopt()
		t := time.NewTicker(g.interval)
		defer t.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-t.C:
				g.sweep()
			}
		}
	})
}

// shutdown stops the lingerer and waits for it. Idempotent.
func (g *lingerer) shutdown() {
	g.once.Do(func() {
		if g.stop != nil {
			close(g.stop)
		}
	})
	g.wg.Wait()
}

// emptied records that the room called name emptied (the registry deleted
// it). Called from the focus when it deletes a room.
func (g *lingerer) emptied(rm *room.Room) {
	ctx, cancel := context.WithTimeout(context.Background(), historyWaitServer)
	defer cancel()
	r := store.Room{URI: g.uri(rm.Name), Subject: rm.Policy().Subject, Persistent: rm.Configured, EmptySince: g.now()}
	if g.data != nil {
		r.Data = g.data(rm.Name) // the record replaces the one before: keep a room of the API's overlay
	}
	if err := g.st.PutRoom(ctx, r); err != nil {
		g.log.Warn("room record not written: its history will linger until the store's retention ends it", "room", rm.Name, "error", err)
	}
}

// historyWaitServer bounds one store request of the lingerer.
const historyWaitServer = 5 * time.Second

// adopt gives EmptySince now to every record without one: parleyd starts
// with every room empty.
func (g *lingerer) adopt() {
	ctx, cancel := context.WithTimeout(context.Background(), historyWaitServer)
	defer cancel()
	for _, r := range g.records(ctx) {
		if r.EmptySince.IsZero() {
			r.EmptySince = g.now()
			if err := g.st.PutRoom(ctx, r); err != nil {
				g.log.Warn("room record not written", "room", r.URI, "error", err)
			}
		}
	}
}

// records are the store's room records (none, logged, when they cannot
// be read).
func (g *lingerer) records(ctx context.Context) []store.Room {
	rs, err := g.st.Rooms(ctx)
	if err != nil {
		g.log.Warn("room records not read", "error", err)
	}
	return rs
}

// sweep deletes the history of every ad hoc room empty for longer than its
// grace and not made again since.
func (g *lingerer) sweep() {
	ctx, cancel := context.WithTimeout(context.Background(), historyWaitServer)
	defer cancel()
	now := g.now()
	for _, r := range g.records(ctx) {
		name := g.name(r.URI)
		if name == "" || r.Persistent || r.EmptySince.IsZero() {
			continue
		}
		if _, live := g.rooms.Get(name); live {
			// Made again: it is not empty. Its record is left as it is
			// (writing here could undo the EmptySince of a leave racing
			// this sweep); the room's next emptying writes a new one.
			continue
		}
		pol, configured, ok := g.policy(name)
		if ok && configured {
			continue
		}
		if now.Sub(r.EmptySince) < pol.EmptyGrace {
			continue
		}
		if err := g.st.DeleteRoom(ctx, r.URI); err != nil {
			g.log.Warn("room history not deleted", "room", name, "error", err)
			continue
		}
		g.log.Info("room history deleted: empty for longer than its grace", "room", name, "empty_since", r.EmptySince, "grace", pol.EmptyGrace)
	}
}
