package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/parley-im/parley/internal/store"
)

// The control socket (issue 17). parleyd user … and parleyd nick … manage
// the accounts and registered nicknames the store keeps. The embedded
// store's data directory is locked by the parleyd that runs on it, so
// while one runs they reach it through a Unix-domain socket in that
// directory, ControlSocket, mode 0600: whoever may open it may read and
// write the data directory anyway. One JSON request per connection, one
// JSON response, then the connection closes. Only the store operations of
// accounts and nicknames are served; the admin API of the operations issue
// will serve the rest over HTTP.

// ControlSocket is the control socket's name in the data directory.
const ControlSocket = "parleyd.sock"

// ControlRequest is a request on the control socket.
type ControlRequest struct {
	// Op: "account.create", "account.put", "account.get",
	// "account.delete", "account.list", "nickname.register",
	// "nickname.drop", "nickname.list".
	Op       string                      `json:"op"`
	Account  *store.Account              `json:"account,omitempty"`
	Username string                      `json:"username,omitempty"`
	Nickname *store.NicknameRegistration `json:"nickname,omitempty"`
	Key      string                      `json:"key,omitempty"`
}

// ControlResponse is the answer to a ControlRequest.
type ControlResponse struct {
	Error     string                       `json:"error,omitempty"`
	Code      string                       `json:"code,omitempty"` // the store error it wraps: ControlCodes' keys
	Account   *store.Account               `json:"account,omitempty"`
	Accounts  []store.Account              `json:"accounts,omitempty"`
	Nicknames []store.NicknameRegistration `json:"nicknames,omitempty"`
}

// ControlCodes are the store errors a ControlResponse names by Code, so
// that the command on the other side can branch on them as on the store's.
var ControlCodes = map[string]error{
	"exists":      store.ErrExists,
	"not-found":   store.ErrNotFound,
	"invalid":     store.ErrInvalid,
	"unavailable": store.ErrUnavailable,
	"closed":      store.ErrClosed,
}

// controlMaxRequest bounds a request (an account's record is well under).
const controlMaxRequest = 1 << 20

// controlTimeout bounds one request, reading to answering.
const controlTimeout = 10 * time.Second

// control serves the control socket.
type control struct {
	ln    net.Listener
	path  string
	st    *store.Store
	realm string // server.host: the realm of every account's hashes
	log   *slog.Logger

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// startControl listens on the control socket of the embedded file store
// in dataDir and serves it until closed. A socket file left by a parleyd
// that died is replaced; one a live parleyd answers on cannot be (the
// store's lock would have refused this one already).
func startControl(dataDir, realm string, st *store.Store, log *slog.Logger) (*control, error) {
	path := filepath.Join(dataDir, ControlSocket)
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another parleyd answers on it", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	c := &control{ln: ln, path: path, st: st, realm: realm, log: log, conns: make(map[net.Conn]struct{})}
	c.wg.Go(c.accept)
	return c, nil
}

func (c *control) accept() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return // closed
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			conn.Close()
			return
		}
		c.conns[conn] = struct{}{}
		c.wg.Add(1)
		c.mu.Unlock()
		go func() {
			defer c.wg.Done()
			c.serve(conn)
			c.mu.Lock()
			delete(c.conns, conn)
			c.mu.Unlock()
		}()
	}
}

// serve answers the one request of conn.
func (c *control) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(controlTimeout))
	var req ControlRequest
	var res ControlResponse
	line, err := bufio.NewReader(io.LimitReader(conn, controlMaxRequest)).ReadBytes('\n')
	if err != nil && (len(line) == 0 || !errors.Is(err, io.EOF)) {
		return
	}
	if err := json.Unmarshal(line, &req); err != nil {
		res.Error = "bad request: " + err.Error()
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
		res = c.do(ctx, req)
		cancel()
		c.log.Info("control request", "op", req.Op, "username", req.Username, "error", res.Error)
	}
	out, _ := json.Marshal(res)
	_, _ = conn.Write(append(out, '\n'))
}

// do runs req against the store.
func (c *control) do(ctx context.Context, req ControlRequest) ControlResponse {
	var res ControlResponse
	var err error
	switch req.Op {
	case "account.create", "account.put":
		if req.Account == nil {
			err = fmt.Errorf("%w: no account", store.ErrInvalid)
			break
		}
		if req.Account.Realm != c.realm {
			// Hashes for another realm would never match: the command
			// was run without the server's -host (or config).
			err = fmt.Errorf("%w: the password was hashed for the realm %q, but this parleyd's realm (server.host) is %q: run the command with -host %s, or the server's -config",
				store.ErrInvalid, req.Account.Realm, c.realm, c.realm)
			break
		}
		if req.Op == "account.create" {
			err = c.st.CreateAccount(ctx, *req.Account)
		} else {
			err = c.st.PutAccount(ctx, *req.Account)
		}
	case "account.get":
		if a, ok := c.st.Account(req.Username); ok {
			res.Account = &a
		} else {
			err = fmt.Errorf("%w: no account %q", store.ErrNotFound, req.Username)
		}
	case "account.delete":
		err = c.st.DeleteAccount(ctx, req.Username)
	case "account.list":
		res.Accounts, err = c.st.Accounts(ctx)
	case "nickname.register":
		if req.Nickname == nil {
			err = fmt.Errorf("%w: no nickname", store.ErrInvalid)
			break
		}
		err = c.st.RegisterNickname(ctx, *req.Nickname)
	case "nickname.drop":
		err = c.st.DropNickname(ctx, req.Key)
	case "nickname.list":
		res.Nicknames, err = c.st.NicknameRegistrations(ctx)
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if err != nil {
		res.Error = err.Error()
		for code, e := range ControlCodes {
			if errors.Is(err, e) {
				res.Code = code
			}
		}
	}
	return res
}

// close stops serving: the listener and every connection close, the
// socket file goes. Idempotent.
func (c *control) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.ln.Close()
	for conn := range c.conns {
		conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
	_ = os.Remove(c.path)
}
