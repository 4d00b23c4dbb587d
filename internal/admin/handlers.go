package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const tooLargeMessage = "request body over 1 MiB"

// errorBody is every error answer: {"error":"…"}, with "errors" listing
// the problems of an *InvalidError.
type errorBody struct {
	Error  string   `json:"error"`
	Errors []string `json:"errors,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}

func writeError(w http.ResponseWriter, status int, msg string, problems []string) {
	writeJSON(w, status, errorBody{Error: msg, Errors: problems})
}

// requestError is a request the API refuses before reaching the Backend.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) *requestError {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// fail answers err (a *requestError or the Backend's) and returns the
// status sent. notFound is the message for a bare ErrNotFound.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error, notFound string) int {
	var (
		status   int
		msg      = err.Error()
		problems []string
		re       *requestError
		inv      *InvalidError
	)
	switch {
	case errors.As(err, &re):
		status = re.status
	case errors.As(err, &inv):
		status = http.StatusUnprocessableEntity
		problems = inv.Problems
		if len(problems) == 0 {
			problems = nil
		}
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
		if err == ErrNotFound && notFound != "" {
			msg = notFound
		}
	case errors.Is(err, ErrExists):
		status = http.StatusConflict
	case errors.Is(err, ErrNoConfigFile):
		status = http.StatusConflict
		if err == ErrNoConfigFile {
			msg = "no configuration file to reload: the server runs on embedded defaults"
		}
	case errors.Is(err, ErrShuttingDown):
		status = http.StatusServiceUnavailable
	default:
		status = http.StatusInternalServerError
		msg = "internal error"
		s.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path,
			"remote", r.RemoteAddr, "error", err)
	}
	writeError(w, status, msg, problems)
	return status
}

// audit logs a mutating request with its outcome.
func (s *Server) audit(r *http.Request, status int, action string, attrs ...any) {
	attrs = append([]any{"remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "status", status}, attrs...)
	s.log.Info("admin: "+action, attrs...)
}

// readObject reads a body that must be one JSON object and returns it as
// sent.
func readObject(r *http.Request) (json.RawMessage, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(err)
	}
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return nil, badRequest("empty body: want a JSON object")
	}
	if !json.Valid(t) {
		return nil, badRequest("body is not JSON")
	}
	if t[0] != '{' {
		return nil, badRequest("body is not a JSON object")
	}
	return json.RawMessage(data), nil
}

// decodeStrict decodes a body that must be exactly one JSON object of v's
// shape, with no unknown keys.
func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return bodyError(err)
		}
		return badRequest("body holds more than one JSON value")
	}
	return nil
}

func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return &requestError{http.StatusRequestEntityTooLarge, tooLargeMessage}
	case errors.Is(err, io.EOF):
		return badRequest("empty body: want a JSON object")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest("body is not a JSON object")
		}
		return badRequest("body: %q must be a JSON %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
		return badRequest("body is not JSON: %v", err)
	}
	var netErr interface{ Timeout() bool }
	if errors.As(err, &netErr) {
		return badRequest("reading the body: %v", err)
	}
	// DisallowUnknownFields: `json: unknown field "x"`.
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest("body: unknown key %s", f)
	}
	return badRequest("body: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "bool":
		return "boolean"
	case "string":
		return "string"
	case "ptr":
		return "value"
	}
	return goKind
}

func roomNotFound(name string) string { return fmt.Sprintf("room %q not found", name) }

// roomName is the {name} of the path, a SIP user part, percent-decoded.
func roomName(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("name")
	if name == "" {
		writeError(w, http.StatusNotFound, "no room name in the path", nil)
		return "", false
	}
	return name, true
}

// normalized makes a room's lists [] rather than null in JSON.
func normalized(room Room) Room {
	if room.Participants == nil {
		room.Participants = []Participant{}
	}
	return room
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type readyBody struct {
	Status   string   `json:"status"`
	Problems []string `json:"problems,omitempty"`
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if problems := s.b.Ready(); len(problems) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, readyBody{Status: "not ready", Problems: problems})
		return
	}
	writeJSON(w, http.StatusOK, readyBody{Status: "ready"})
}

func (s *Server) handleServer(w http.ResponseWriter, r *http.Request) {
	info := s.b.Info()
	if info.Listeners == nil {
		info.Listeners = map[string]string{}
	}
	writeJSON(w, http.StatusOK, info)
}

// RoomList is GET /api/v1/rooms's answer.
type RoomList struct {
	Rooms []Room `json:"rooms"`
}

func (s *Server) handleListRooms(w http.ResponseWriter, r *http.Request) {
	rooms := s.b.Rooms()
	out := RoomList{Rooms: make([]Room, 0, len(rooms))}
	for _, room := range rooms {
		out.Rooms = append(out.Rooms, normalized(room))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetRoom(w http.ResponseWriter, r *http.Request) {
	name, ok := roomName(w, r)
	if !ok {
		return
	}
	room, err := s.b.Room(name)
	if err != nil {
		s.fail(w, r, err, roomNotFound(name))
		return
	}
	writeJSON(w, http.StatusOK, normalized(room))
}

func (s *Server) handleCreateRoom(w http.ResponseWriter, r *http.Request) {
	spec, err := readObject(r)
	if err != nil {
		s.audit(r, s.fail(w, r, err, ""), "create room", "error", err)
		return
	}
	var named struct {
		Name any `json:"name"`
	}
	_ = json.Unmarshal(spec, &named) // only for messages: the Backend validates
	name, _ := named.Name.(string)
	room, err := s.b.CreateRoom(r.Context(), spec)
	if err != nil {
		if err == ErrExists && name != "" {
			err = fmt.Errorf("room %q %w", name, ErrExists)
		}
		s.audit(r, s.fail(w, r, err, ""), "create room", "room", name, "error", err)
		return
	}
	w.Header().Set("Location", "/api/v1/rooms/"+url.PathEscape(room.Name))
	writeJSON(w, http.StatusCreated, normalized(room))
	s.audit(r, http.StatusCreated, "create room", "room", room.Name, "spec", string(spec))
}

func (s *Server) handlePatchRoom(w http.ResponseWriter, r *http.Request) {
	name, ok := roomName(w, r)
	if !ok {
		return
	}
	patch, err := readObject(r)
	if err != nil {
		s.audit(r, s.fail(w, r, err, ""), "reconfigure room", "room", name, "error", err)
		return
	}
	room, err := s.b.ReconfigureRoom(r.Context(), name, patch)
	if err != nil {
		s.audit(r, s.fail(w, r, err, roomNotFound(name)), "reconfigure room", "room", name, "error", err)
		return
	}
	writeJSON(w, http.StatusOK, normalized(room))
	s.audit(r, http.StatusOK, "reconfigure room", "room", name, "patch", string(patch))
}

// DeleteResult is DELETE /api/v1/rooms/{name}'s answer.
type DeleteResult struct {
	Removed       int `json:"removed"`
	Subscriptions int `json:"subscriptions"`
}

func (s *Server) handleDeleteRoom(w http.ResponseWriter, r *http.Request) {
	name, ok := roomName(w, r)
	if !ok {
		return
	}
	reason := r.URL.Query().Get("reason")
	n, m, err := s.b.DeleteRoom(r.Context(), name, reason)
	if err != nil {
		s.audit(r, s.fail(w, r, err, roomNotFound(name)), "delete room", "room", name, "reason", reason, "error", err)
		return
	}
	writeJSON(w, http.StatusOK, DeleteResult{Removed: n, Subscriptions: m})
	s.audit(r, http.StatusOK, "delete room", "room", name, "reason", reason, "removed", n, "subscriptions", m)
}

// KickRequest is POST /api/v1/rooms/{name}/kick's body.
type KickRequest struct {
	URI    string `json:"uri"`
	Reason string `json:"reason,omitempty"`
}

// KickResult is POST /api/v1/rooms/{name}/kick's answer.
type KickResult struct {
	Room   string `json:"room"`
	Kicked string `json:"kicked"`
}

func (s *Server) handleKick(w http.ResponseWriter, r *http.Request) {
	name, ok := roomName(w, r)
	if !ok {
		return
	}
	var req KickRequest
	err := decodeStrict(r, &req)
	if err == nil && req.URI == "" {
		err = badRequest(`body: "uri" is required`)
	}
	if err != nil {
		s.audit(r, s.fail(w, r, err, ""), "kick", "room", name, "error", err)
		return
	}
	if err := s.b.Kick(r.Context(), name, req.URI, req.Reason); err != nil {
		notFound := roomNotFound(name)
		if _, rerr := s.b.Room(name); rerr == nil {
			notFound = fmt.Sprintf("participant %q not found in room %q", req.URI, name)
		}
		s.audit(r, s.fail(w, r, err, notFound), "kick", "room", name, "uri", req.URI, "reason", req.Reason, "error", err)
		return
	}
	writeJSON(w, http.StatusOK, KickResult{Room: name, Kicked: req.URI})
	s.audit(r, http.StatusOK, "kick", "room", name, "uri", req.URI, "reason", req.Reason)
}

// ReloadResult is POST /api/v1/reload's answer.
type ReloadResult struct {
	Changes []string `json:"changes"`
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	changes, err := s.b.Reload(r.Context())
	if err != nil {
		s.audit(r, s.fail(w, r, err, ""), "reload", "error", err)
		return
	}
	if changes == nil {
		changes = []string{}
	}
	writeJSON(w, http.StatusOK, ReloadResult{Changes: changes})
	s.audit(r, http.StatusOK, "reload", "changes", len(changes))
}

// TraceState is GET and PUT /api/v1/trace's answer, and PUT's body.
type TraceState struct {
	Enabled bool `json:"enabled"`
}

func (s *Server) handleGetTrace(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, TraceState{Enabled: s.b.Trace()})
}

func (s *Server) handlePutTrace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	err := decodeStrict(r, &req)
	if err == nil && req.Enabled == nil {
		err = badRequest(`body: "enabled" is required`)
	}
	if err != nil {
		s.audit(r, s.fail(w, r, err, ""), "trace", "error", err)
		return
	}
	s.b.SetTrace(*req.Enabled)
	writeJSON(w, http.StatusOK, TraceState{Enabled: s.b.Trace()})
	s.audit(r, http.StatusOK, "trace", "enabled", *req.Enabled)
}
