package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-im/parley/internal/admin"
	"github.com/parley-im/parley/internal/buildinfo"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/internal/store"
)

// The admin API's side of the server (issue 18, docs/ADMIN.md): Server
// implements admin.Backend. Rooms made or reconfigured through the API are
// overlays: [[room]] keys by room name, laid over the configuration file's
// rooms (config.WithRoomOverlays), kept in the store's rooms bucket so that
// they survive a restart, and kept across reloads. The effective
// configuration (the file's with the overlays) is what the room registry's
// policies come from; it is replaced whole, never changed in place.

var _ admin.Backend = (*Server)(nil)

// adminState is what the admin API changes at run time.
type adminState struct {
	mu   sync.Mutex     // serializes create, reconfigure, delete and reload
	file *config.Config // the configuration as read (file and flags), without overlays
	// overlays are the [[room]] keys of rooms made or changed through the
	// API, by name: a map never modified once stored (a change stores a
	// new one, under mu), so that it is read without mu (overlayData runs
	// where an admin operation may hold mu: a deletion's room record).
	overlays atomic.Pointer[map[string]map[string]any]
	cfg      atomic.Pointer[config.Config]
	started  time.Time
	level    *slog.LevelVar // the log level, when the caller gave one (SetLogLevel)
	addr     atomic.Pointer[string]
}

func (a *adminState) overlayMap() map[string]map[string]any { return *a.overlays.Load() }

func (a *adminState) setOverlays(m map[string]map[string]any) { a.overlays.Store(&m) }

// current is the effective configuration.
func (a *adminState) current() *config.Config { return a.cfg.Load() }

func (a *adminState) init(cfg *config.Config) {
	a.file, a.started = cfg, time.Now()
	a.setOverlays(map[string]map[string]any{})
	a.cfg.Store(cfg)
}

// SetLogLevel gives the server the level of its logger, so that reloads
// (log.level) and the trace switch can change it. Call it before Run.
func (s *Server) SetLogLevel(lv *slog.LevelVar) { s.admin.level = lv }

// SetAdminAddr records the admin listener's address for Info.
func (s *Server) SetAdminAddr(addr string) { s.admin.addr.Store(&addr) }

// storedOverlay is an overlay as kept in a store room record's Data.
type storedOverlay struct {
	AdminRoom map[string]any `json:"admin_room"`
}

// loadOverlays reads the overlays the store keeps (rooms made or changed
// through the API before a restart) and applies those that still
// validate; the others are logged and left in the store.
func (s *Server) loadOverlays(ctx context.Context) {
	if s.store == nil {
		return
	}
	rs, err := s.store.Rooms(ctx)
	if err != nil {
		s.log.Warn("rooms made through the admin API not read", "error", err)
		return
	}
	for _, r := range rs {
		if len(r.Data) == 0 {
			continue
		}
		var so storedOverlay
		if err := jsonNumbers(r.Data, &so); err != nil || so.AdminRoom == nil {
			continue
		}
		name := roomNameOf(r.URI, s.cfg.Server.Host)
		if name == "" {
			continue
		}
		next := maps.Clone(s.admin.overlayMap())
		next[name] = so.AdminRoom
		eff, err := s.admin.file.WithRoomOverlays(next)
		if err != nil {
			s.log.Warn("a room made through the admin API no longer validates; not restored", "room", name, "error", err)
			continue
		}
		s.admin.setOverlays(next)
		s.admin.cfg.Store(eff)
	}
	if n := len(s.admin.overlayMap()); n > 0 {
		s.log.Info("rooms made through the admin API restored", "rooms", n)
	}
}

// overlayData is the Data of the store record of the room called name:
// its overlay when it was made or changed through the API, else nil.
func (s *Server) overlayData(name string) []byte {
	keys, ok := s.admin.overlayMap()[name]
	if !ok {
		return nil
	}
	data, _ := json.Marshal(storedOverlay{AdminRoom: keys})
	return data
}

func jsonNumbers(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// Info implements admin.Backend.
func (s *Server) Info() admin.ServerInfo {
	bi := buildinfo.Read()
	ls := map[string]string{}
	for k, v := range map[string]string{"sip_udp": s.addrs.SIPUDP, "sip_tcp": s.addrs.SIPTCP, "sip_tls": s.addrs.SIPTLS,
		"msrp": s.addrs.MSRP, "msrp_tls": s.addrs.MSRPTLS, "https": s.addrs.HTTPS} {
		if v != "" {
			ls[k] = v
		}
	}
	if a := s.admin.addr.Load(); a != nil {
		ls["admin"] = *a
	}
	src := s.admin.current().Source()
	if src == "" {
		src = "embedded defaults"
	}
	parts := 0
	for _, rm := range s.rooms.Rooms() {
		parts += len(s.rooms.Members(rm))
	}
	return admin.ServerInfo{
		Version:       bi.Version,
		Revision:      bi.Revision,
		GoVersion:     runtime.Version(),
		Started:       s.admin.started.UTC(),
		UptimeSeconds: time.Since(s.admin.started).Seconds(),
		Listeners:     ls,
		ConfigSource:  src,
		Trace:         s.Trace(),
		Rooms:         s.rooms.Len(),
		Participants:  parts,
	}
}

// Ready implements admin.Backend: not ready before the listeners serve,
// once a shutdown has begun, and while the store is unreachable.
func (s *Server) Ready() []string {
	var p []string
	if !s.served.Load() {
		p = append(p, "listeners: not serving yet")
	}
	if s.focus.ShuttingDown() {
		p = append(p, "shutting down")
	}
	switch {
	case s.store == nil: // every configuration has one (accounts live there): it failed to open
		p = append(p, "store: not open (history in memory only)")
	case s.store != nil && !s.store.Available():
		p = append(p, "store: unavailable")
	}
	return p
}

// Rooms implements admin.Backend: the live rooms and the configured ones
// nobody has entered yet.
func (s *Server) Rooms() []admin.Room {
	cfg := s.admin.current()
	live := s.rooms.Rooms()
	seen := make(map[string]bool, len(live))
	out := make([]admin.Room, 0, len(live)+len(cfg.Room))
	for _, rm := range live {
		seen[rm.Name] = true
		out = append(out, s.describe(cfg, rm.Name, rm))
	}
	for _, r := range cfg.Room {
		if !seen[r.Name] {
			out = append(out, s.describe(cfg, r.Name, nil))
		}
	}
	slices.SortFunc(out, func(a, b admin.Room) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Room implements admin.Backend.
func (s *Server) Room(name string) (admin.Room, error) {
	cfg := s.admin.current()
	rm, live := s.rooms.Get(name)
	if !live && cfg.FindRoom(name) == nil {
		return admin.Room{}, fmt.Errorf("room %q: %w", name, admin.ErrNotFound)
	}
	if !live {
		rm = nil
	}
	return s.describe(cfg, name, rm), nil
}

// describe is the API's view of the room called name (rm nil: not live).
func (s *Server) describe(cfg *config.Config, name string, rm *room.Room) admin.Room {
	keys := cfg.RoomKeys(name)
	pol, _ := json.Marshal(keys)
	r := admin.Room{
		Name:         name,
		URI:          "sip:" + name + "@" + cfg.Server.Host,
		Configured:   cfg.FindRoom(name) != nil,
		Policy:       pol,
		Participants: []admin.Participant{},
	}
	if rm == nil {
		return r
	}
	nicks := s.sw.Nicknames()
	for _, p := range s.rooms.Members(rm) {
		r.Participants = append(r.Participants, admin.Participant{
			URI:       p.URI,
			Nickname:  nicks.NicknameOf(p),
			Anonymous: p.Anonymous,
			Guest:     p.Guest,
			Account:   p.Account,
			Transport: s.focus.Transport(p),
		})
	}
	slices.SortFunc(r.Participants, func(a, b admin.Participant) int { return strings.Compare(a.URI, b.URI) })
	r.Subscriptions = s.conf.RoomSubscriptions(rm)
	return r
}

// CreateRoom implements admin.Backend.
func (s *Server) CreateRoom(ctx context.Context, spec json.RawMessage) (admin.Room, error) {
	keys, err := roomObject(spec)
	if err != nil {
		return admin.Room{}, err
	}
	name, _ := keys["name"].(string)
	if name == "" {
		return admin.Room{}, &admin.InvalidError{Problems: []string{`name: a room needs a "name"`}}
	}
	if s.rooms.NameTooLong(name) {
		return admin.Room{}, &admin.InvalidError{Problems: []string{fmt.Sprintf("name: longer than rooms.max_name_bytes (%d)", s.cfg.Rooms.MaxNameBytes)}}
	}
	delete(keys, "name")
	s.admin.mu.Lock()
	defer s.admin.mu.Unlock()
	if _, live := s.rooms.Get(name); live || s.admin.current().FindRoom(name) != nil {
		return admin.Room{}, fmt.Errorf("room %q: %w", name, admin.ErrExists)
	}
	if err := s.setOverlay(ctx, name, keys); err != nil {
		return admin.Room{}, err
	}
	s.log.Info("room created through the admin API", "room", name)
	return s.Room(name)
}

// ReconfigureRoom implements admin.Backend. A live ad hoc room that is
// reconfigured becomes a room of the API: kept until deleted.
func (s *Server) ReconfigureRoom(ctx context.Context, name string, patch json.RawMessage) (admin.Room, error) {
	keys, err := roomObject(patch)
	if err != nil {
		return admin.Room{}, err
	}
	if n, ok := keys["name"]; ok && n != name {
		return admin.Room{}, &admin.InvalidError{Problems: []string{"name: a room cannot be renamed"}}
	}
	delete(keys, "name")
	s.admin.mu.Lock()
	defer s.admin.mu.Unlock()
	rm, live := s.rooms.Get(name)
	if !live && s.admin.current().FindRoom(name) == nil {
		return admin.Room{}, fmt.Errorf("room %q: %w", name, admin.ErrNotFound)
	}
	merged := maps.Clone(s.admin.overlayMap()[name])
	if merged == nil {
		merged = map[string]any{}
	}
	maps.Copy(merged, keys)
	if err := s.setOverlay(ctx, name, merged); err != nil {
		return admin.Room{}, err
	}
	if live {
		s.applyPolicy(rm)
	}
	s.log.Info("room reconfigured through the admin API", "room", name)
	return s.Room(name)
}

// setOverlay validates the configuration with name's overlay set to keys,
// keeps the overlay in the store and makes the configuration current.
// Under s.admin.mu.
func (s *Server) setOverlay(ctx context.Context, name string, keys map[string]any) error {
	next := maps.Clone(s.admin.overlayMap())
	next[name] = keys
	eff, err := s.admin.file.WithRoomOverlays(next)
	if err != nil {
		return invalid(err)
	}
	if s.store != nil {
		data, err := json.Marshal(storedOverlay{AdminRoom: keys})
		if err != nil {
			return err
		}
		r := store.Room{URI: "sip:" + name + "@" + s.cfg.Server.Host, Persistent: true, Data: data}
		if f := eff.FindRoom(name); f != nil {
			r.Subject = f.Subject
		}
		if err := s.store.PutRoom(ctx, r); err != nil {
			return fmt.Errorf("keeping the room in the store: %w", err)
		}
	}
	s.admin.setOverlays(next)
	s.admin.cfg.Store(eff)
	return nil
}

// applyPolicy gives a live room the policy the current configuration says
// and removes whoever it no longer admits.
func (s *Server) applyPolicy(rm *room.Room) {
	pol, _, ok := policySource(s.admin.current)(rm.Name)
	if !ok {
		return
	}
	rm.SetPolicy(pol)
	s.focus.Enforce(rm)
}

// invalid turns a configuration error into the API's 422.
func invalid(err error) error {
	var es config.Errors
	if errors.As(err, &es) {
		p := make([]string, len(es))
		for i, e := range es {
			p[i] = e.Error()
		}
		return &admin.InvalidError{Problems: p}
	}
	return &admin.InvalidError{Problems: []string{err.Error()}}
}

// roomObject decodes a [[room]] object of the API.
func roomObject(raw json.RawMessage) (map[string]any, error) {
	var keys map[string]any
	if err := jsonNumbers(raw, &keys); err != nil || keys == nil {
		return nil, &admin.InvalidError{Problems: []string{"the body must be a JSON object of [[room]] keys"}}
	}
	return keys, nil
}

// DeleteRoom implements admin.Backend. A configured room ([[room]] in the
// file) is emptied but stays configured (it exists again for the next
// INVITE); a room of the API is forgotten, with its history.
func (s *Server) DeleteRoom(ctx context.Context, name, reason string) (int, int, error) {
	s.admin.mu.Lock()
	defer s.admin.mu.Unlock()
	rm, live := s.rooms.Get(name)
	_, overlaid := s.admin.overlayMap()[name]
	if !live && !overlaid {
		if s.admin.current().FindRoom(name) != nil {
			return 0, 0, nil // configured, empty, nobody subscribed
		}
		return 0, 0, fmt.Errorf("room %q: %w", name, admin.ErrNotFound)
	}
	subs := 0
	if live {
		subs = s.conf.RoomSubscriptions(rm)
	}
	n, _ := s.focus.DeleteRoom(name, reason)
	if overlaid {
		next := maps.Clone(s.admin.overlayMap())
		delete(next, name)
		if eff, err := s.admin.file.WithRoomOverlays(next); err == nil {
			s.admin.setOverlays(next)
			s.admin.cfg.Store(eff)
		}
		if s.store != nil {
			if err := s.store.DeleteRoom(ctx, "sip:"+name+"@"+s.cfg.Server.Host); err != nil {
				s.log.Warn("deleted room's record not removed from the store", "room", name, "error", err)
			}
		}
	}
	return n, subs, nil
}

// Kick implements admin.Backend.
func (s *Server) Kick(_ context.Context, roomName, uri, reason string) error {
	if _, live := s.rooms.Get(roomName); !live && s.admin.current().FindRoom(roomName) == nil {
		return fmt.Errorf("room %q: %w", roomName, admin.ErrNotFound)
	}
	if !s.focus.Kick(roomName, uri, reason) {
		return fmt.Errorf("participant %q in room %q: %w", uri, roomName, admin.ErrNotFound)
	}
	return nil
}

// Trace implements admin.Backend.
func (s *Server) Trace() bool { return s.trace.Load() }

// SetTrace implements admin.Backend: the raw SIP and MSRP trace, logged at
// debug level, so the log level goes down to debug while it is on (when
// the server was given its level) and back to the configured one after.
func (s *Server) SetTrace(on bool) {
	s.trace.Store(on)
	s.relay.SetTrace(on)
	if s.admin.level != nil {
		if on {
			s.admin.level.Set(slog.LevelDebug)
		} else {
			s.admin.level.Set(s.admin.current().Log.SlogLevel())
		}
	}
	s.log.Info("raw SIP and MSRP trace switched", "on", on)
}

// Reload implements admin.Backend: the configuration file is read again
// and applied whole, or refused whole. What applies at once: room policies
// (live rooms get theirs, and whoever a new policy no longer admits gets a
// BYE), reserved nicknames, the SIP side's limits and rates and the message
// rate, the log level, the TLS certificate. Listener addresses, the store
// and what the MSRP side decides per connection are read at start only: a
// change to them is reported as waiting for a restart.
func (s *Server) Reload(_ context.Context) ([]string, error) {
	s.admin.mu.Lock()
	defer s.admin.mu.Unlock()
	n, err := s.admin.file.Reread()
	if errors.Is(err, config.ErrNoFile) {
		return nil, admin.ErrNoConfigFile
	}
	if err != nil {
		return nil, invalid(err)
	}
	old := s.admin.current()
	restartCase := n.Rooms.CaseSensitiveNames != old.Rooms.CaseSensitiveNames
	n.Rooms.CaseSensitiveNames = old.Rooms.CaseSensitiveNames // the registry's keys are made with it
	eff, err := n.WithRoomOverlays(s.admin.overlayMap())
	if err != nil {
		return nil, invalid(err)
	}
	var changes []string
	if restartCase {
		changes = append(changes, "rooms.case_sensitive_names: changed; applies at the next start")
	}
	if s.certs != nil {
		if err := s.ReloadCertificates(); err != nil {
			return nil, &admin.InvalidError{Problems: []string{"tls: " + err.Error()}}
		}
		changes = append(changes, "tls: certificate reloaded")
	}
	changes = append(changes, restartOnly(old, eff)...)
	changes = append(changes, roomChanges(old, eff)...)
	if limitsJSON(old.Limits) != limitsJSON(eff.Limits) {
		changes = append(changes, "limits: the SIP limits and rates, and the message rate, apply now")
	}
	if old.Log.Level != eff.Log.Level {
		changes = append(changes, fmt.Sprintf("log.level: %s → %s", old.Log.Level, eff.Log.Level))
	}
	s.admin.file = n
	s.admin.cfg.Store(eff)
	s.focus.SetLimits(focusLimits(eff.Limits))
	s.sw.SetMessageRate(eff.Limits.MessagesPerSecond, eff.Limits.MessagesBurst)
	if s.admin.level != nil && !s.trace.Load() {
		s.admin.level.Set(eff.Log.SlogLevel())
	}
	removed := 0
	for _, rm := range s.rooms.Rooms() {
		pol, _, ok := policySource(s.admin.current)(rm.Name)
		if !ok {
			continue // an ad hoc room of a server now in configured mode: it lives on until it empties
		}
		rm.SetPolicy(pol)
		removed += s.focus.Enforce(rm)
	}
	if removed > 0 {
		changes = append(changes, fmt.Sprintf("%d participants removed: the new policy no longer admits them", removed))
	}
	s.log.Info("configuration reloaded", "file", n.Source(), "changes", len(changes))
	for _, c := range changes {
		s.log.Info("reload", "change", c)
	}
	return changes, nil
}

// roomChanges lists the rooms added, removed and changed between two
// effective configurations, and [rooms]'s policy.
func roomChanges(old, cur *config.Config) []string {
	var out []string
	if !policyEqual(old.Rooms.Policy, cur.Rooms.Policy) || old.Rooms.Mode != cur.Rooms.Mode {
		out = append(out, "rooms: policy changed")
	}
	for _, r := range cur.Room {
		o := old.FindRoom(r.Name)
		switch {
		case o == nil:
			out = append(out, fmt.Sprintf("room %s: added", r.Name))
		default:
			a, _ := old.RoomPolicy(r.Name)
			b, _ := cur.RoomPolicy(r.Name)
			if !policyEqual(a, b) || o.Subject != r.Subject {
				out = append(out, fmt.Sprintf("room %s: policy changed", r.Name))
			}
		}
	}
	for _, r := range old.Room {
		if cur.FindRoom(r.Name) == nil {
			out = append(out, fmt.Sprintf("room %s: removed (its participants stay until they leave)", r.Name))
		}
	}
	return out
}

func limitsJSON(l config.LimitsConfig) string {
	b, _ := json.Marshal(l)
	return string(b)
}

func policyEqual(a, b config.Policy) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// restartOnly lists the changes a reload cannot apply.
func restartOnly(old, cur *config.Config) []string {
	var out []string
	check := func(key string, a, b any) {
		x, _ := json.Marshal(a)
		y, _ := json.Marshal(b)
		if !bytes.Equal(x, y) {
			out = append(out, key+": changed; applies at the next start")
		}
	}
	check("server", old.Server, cur.Server)
	check("sip", old.SIP, cur.SIP)
	check("msrp", old.MSRP, cur.MSRP)
	check("https", old.HTTPS, cur.HTTPS)
	check("store", old.Store, cur.Store)
	// The focus's limits and the message rate apply at once (Reload);
	// what the MSRP side decides per connection at its accept or bind
	// does not.
	check("limits.msrp_connections_per_source", old.Limits.MSRPConnectionsPerSource, cur.Limits.MSRPConnectionsPerSource)
	check("limits.exempt (for MSRP connections; SIP applies it at once)", old.Limits.Exempt, cur.Limits.Exempt)
	check("limits.rate_exempt (for MSRP senders; SIP applies it at once)", old.Limits.RateExempt, cur.Limits.RateExempt)
	check("admin", old.Admin, cur.Admin)
	check("tls (the certificate's paths; the files themselves are read again)", old.TLS, cur.TLS)
	check("accounts", old.Accounts, cur.Accounts)
	check("log.format", old.Log.Format, cur.Log.Format)
	check("log.trace (switch it with PUT /api/v1/trace)", old.Log.Trace, cur.Log.Trace)
	return out
}
