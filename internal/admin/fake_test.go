package admin

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// call is one mutating call the fake Backend received, with its arguments.
type call struct {
	Method string
	Room   string
	Raw    string // the JSON body passed through
	URI    string
	Reason string
}

// fakeBackend is a Backend over a map of rooms that records every
// mutating call.
type fakeBackend struct {
	mu        sync.Mutex
	rooms     map[string]Room
	problems  []string // Ready
	trace     bool
	changes   []string // Reload
	reloadErr error
	invalid   []string // non-nil: CreateRoom and ReconfigureRoom refuse with them
	calls     []call
}

func newFake() *fakeBackend {
	return &fakeBackend{rooms: map[string]Room{
		"lobby": {
			Name: "lobby", URI: "sip:lobby@chat.example.com", Configured: true,
			Policy: json.RawMessage(`{"subject":"Welcome","delete_when":"never"}`),
			Participants: []Participant{
				{URI: "sip:alice@example.com", Nickname: "alice", Transport: "tcp"},
			},
			Subscriptions: 1,
		},
	}}
}

func (f *fakeBackend) record(c call) {
	f.calls = append(f.calls, c)
}

// Calls returns the calls recorded so far.
func (f *fakeBackend) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeBackend) lastCall() call {
	c := f.Calls()
	if len(c) == 0 {
		return call{}
	}
	return c[len(c)-1]
}

func (f *fakeBackend) Info() ServerInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return ServerInfo{
		Version: "1.2.3", Revision: "abc123", GoVersion: "go1.26",
		Started:       time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		UptimeSeconds: 42,
		Listeners:     map[string]string{"sip_udp": "127.0.0.1:5060", "admin": "127.0.0.1:9560"},
		ConfigSource:  "embedded defaults",
		Trace:         f.trace,
		Rooms:         len(f.rooms),
	}
}

func (f *fakeBackend) Ready() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.problems
}

func (f *fakeBackend) Rooms() []Room {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Room
	for _, r := range f.rooms {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (f *fakeBackend) Room(name string) (Room, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rooms[name]
	if !ok {
		return Room{}, ErrNotFound
	}
	return r, nil
}

func (f *fakeBackend) CreateRoom(ctx context.Context, spec json.RawMessage) (Room, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(call{Method: "CreateRoom", Raw: string(spec)})
	if f.invalid != nil {
		return Room{}, &InvalidError{Problems: f.invalid}
	}
	var s struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(spec, &s); err != nil || s.Name == "" {
		return Room{}, &InvalidError{Problems: []string{"room: name is required"}}
	}
	if _, ok := f.rooms[s.Name]; ok {
		return Room{}, ErrExists
	}
	r := Room{Name: s.Name, URI: "sip:" + s.Name + "@chat.example.com", Policy: spec}
	f.rooms[s.Name] = r
	return r, nil
}

func (f *fakeBackend) ReconfigureRoom(ctx context.Context, name string, patch json.RawMessage) (Room, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(call{Method: "ReconfigureRoom", Room: name, Raw: string(patch)})
	r, ok := f.rooms[name]
	if !ok {
		return Room{}, ErrNotFound
	}
	if f.invalid != nil {
		return Room{}, &InvalidError{Problems: f.invalid}
	}
	r.Policy = patch
	f.rooms[name] = r
	return r, nil
}

func (f *fakeBackend) DeleteRoom(ctx context.Context, name, reason string) (int, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(call{Method: "DeleteRoom", Room: name, Reason: reason})
	r, ok := f.rooms[name]
	if !ok {
		return 0, 0, ErrNotFound
	}
	delete(f.rooms, name)
	return len(r.Participants), r.Subscriptions, nil
}

func (f *fakeBackend) Kick(ctx context.Context, room, uri, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(call{Method: "Kick", Room: room, URI: uri, Reason: reason})
	r, ok := f.rooms[room]
	if !ok {
		return ErrNotFound
	}
	for i, p := range r.Participants {
		if p.URI == uri {
			r.Participants = append(r.Participants[:i:i], r.Participants[i+1:]...)
			f.rooms[room] = r
			return nil
		}
	}
	return ErrNotFound
}

func (f *fakeBackend) Reload(ctx context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(call{Method: "Reload"})
	if f.reloadErr != nil {
		return nil, f.reloadErr
	}
	return f.changes, nil
}

func (f *fakeBackend) Trace() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.trace
}

func (f *fakeBackend) SetTrace(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(call{Method: "SetTrace", Raw: map[bool]string{true: "true", false: "false"}[on]})
	f.trace = on
}

var _ Backend = (*fakeBackend)(nil)
