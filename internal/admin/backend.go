package admin

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Backend is what the admin API serves: the running server
// (internal/server implements it). Every method is safe for concurrent use
// and bounded: none blocks on a participant.
type Backend interface {
	// Info describes the server for GET /api/v1/server.
	Info() ServerInfo
	// Ready reports the problems that make the server not ready
	// (GET /readyz): listeners not serving, the store unreachable. None:
	// ready.
	Ready() []string
	// Rooms lists every room that exists now, sorted by name.
	Rooms() []Room
	// Room returns one room, or ErrNotFound.
	Room(name string) (Room, error)
	// CreateRoom creates a room from a [[room]]-style JSON object (its
	// "name" key names it): ErrExists, or an *InvalidError.
	CreateRoom(ctx context.Context, spec json.RawMessage) (Room, error)
	// ReconfigureRoom changes the keys of a room's policy that patch sets
	// ([[room]] keys): ErrNotFound, or an *InvalidError.
	ReconfigureRoom(ctx context.Context, name string, patch json.RawMessage) (Room, error)
	// DeleteRoom deletes a room: BYE to every participant with reason,
	// a final NOTIFY (terminated;reason=noresource) to every subscriber
	// (RFC 7701 §5.3). It returns how many of each were ended.
	DeleteRoom(ctx context.Context, name, reason string) (participants, subscriptions int, err error)
	// Kick removes the participant known by uri from a room (BYE with
	// reason): ErrNotFound when the room or the participant is not there.
	Kick(ctx context.Context, room, uri, reason string) error
	// Reload re-reads the configuration file and applies it whole, or
	// refuses it whole (an *InvalidError listing every problem). It
	// returns a line per change applied.
	Reload(ctx context.Context) ([]string, error)
	// Trace reports and SetTrace switches the raw SIP/MSRP trace.
	Trace() bool
	SetTrace(on bool)
}

// Errors a Backend returns that the API maps to a status.
var (
	ErrNotFound     = errors.New("not found")             // 404
	ErrExists       = errors.New("already exists")        // 409
	ErrShuttingDown = errors.New("server shutting down")  // 503
	ErrNoConfigFile = errors.New("no configuration file") // 409: nothing to reload (embedded defaults)
)

// InvalidError is a request or configuration that does not validate (422),
// with every problem found.
type InvalidError struct {
	Problems []string
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	return "invalid: " + joinProblems(e.Problems)
}

func joinProblems(p []string) string {
	s := ""
	for i, x := range p {
		if i > 0 {
			s += "; "
		}
		s += x
	}
	return s
}

// ServerInfo is GET /api/v1/server's answer.
type ServerInfo struct {
	Version       string            `json:"version"`
	Revision      string            `json:"revision,omitempty"`
	GoVersion     string            `json:"go"`
	Started       time.Time         `json:"started"`
	UptimeSeconds float64           `json:"uptime_seconds"`
	Listeners     map[string]string `json:"listeners"`     // "sip_udp", "sip_tcp", "sip_tls", "msrp", "msrp_tls", "https", "admin" → address
	ConfigSource  string            `json:"config_source"` // the configuration file, or "embedded defaults"
	Trace         bool              `json:"trace"`
	Rooms         int               `json:"rooms"`
	Participants  int               `json:"participants"`
}

// Room is a room in the API's answers.
type Room struct {
	Name          string          `json:"name"`
	URI           string          `json:"uri"`
	Configured    bool            `json:"configured"`
	Policy        json.RawMessage `json:"policy"` // the [[room]] keys, every one set
	Participants  []Participant   `json:"participants"`
	Subscriptions int             `json:"subscriptions"`
}

// Participant is one participant of a Room.
type Participant struct {
	URI       string `json:"uri"`
	Nickname  string `json:"nickname,omitempty"`
	Anonymous bool   `json:"anonymous"`
	Guest     bool   `json:"guest"`
	Account   string `json:"account,omitempty"`
	Transport string `json:"transport,omitempty"` // the MSRP connection's: tcp, tls, ws, wss
}
