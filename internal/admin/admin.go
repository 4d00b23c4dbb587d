// Package admin serves parleyd's admin listener (docs/ADMIN.md): health
// checks, Prometheus metrics, Go's profiler and a JSON API over a Backend.
package admin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Limits and timeouts of the admin listener.
const (
	// MaxBodyBytes is the largest request body accepted (413 beyond).
	MaxBodyBytes = 1 << 20

	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	// writeTimeout bounds writing an answer. It is set per request (see
	// deadlines) rather than as http.Server.WriteTimeout: net/http/pprof
	// refuses a profile whose seconds= reaches the server's WriteTimeout.
	writeTimeout   = 30 * time.Second
	idleTimeout    = 2 * time.Minute
	maxHeaderBytes = 64 << 10

	// A profile or trace (seconds=, default 30) gets its duration plus
	// pprofSlack to be written, up to pprofMaxDuration.
	pprofDefaultSeconds = 30
	pprofSlack          = 30 * time.Second
	pprofMaxDuration    = time.Hour
)

// Config configures the admin listener.
type Config struct {
	// Listen is the TCP address to bind ("127.0.0.1:9560").
	Listen string
	// Token, when set, is the bearer token every request but GET /healthz
	// and GET /readyz must carry. It is required on a non-loopback address.
	Token string
	// TLS, when set, makes the listener serve HTTPS with it (it must hold a
	// certificate). Nil: plain HTTP.
	TLS *tls.Config
	// Gatherer serves GET /metrics. Nil: no /metrics.
	Gatherer prometheus.Gatherer
	// Logger receives the audit log of mutating requests and errors. Nil:
	// discarded.
	Logger *slog.Logger
}

// Server is a bound admin listener.
type Server struct {
	cfg   Config
	b     Backend
	log   *slog.Logger
	ln    net.Listener
	srv   *http.Server
	mux   *http.ServeMux
	token []byte

	shutdownOnce sync.Once
	shutdownErr  error
}

// New binds cfg.Listen and prepares the admin API over b; Serve serves it.
// It refuses a non-loopback address without a token.
func New(cfg Config, b Backend) (*Server, error) {
	if b == nil {
		return nil, errors.New("admin listener: no backend")
	}
	if cfg.Listen == "" {
		return nil, errors.New("admin listener: no address")
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	if cfg.Token == "" && !isLoopbackHost(host) {
		return nil, notLoopbackError(cfg.Listen)
	}
	if cfg.TLS != nil && len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetCertificate == nil && cfg.TLS.GetConfigForClient == nil {
		return nil, errors.New("admin listener: the TLS configuration has no certificate")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	// "localhost" could resolve to something else: check what was bound.
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && cfg.Token == "" && !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, notLoopbackError(cfg.Listen)
	}
	s := &Server{cfg: cfg, b: b, log: log, ln: ln}
	if cfg.Token != "" {
		s.token = []byte(cfg.Token)
	}
	s.mux = s.routes()
	s.srv = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.TLS != nil {
		s.srv.TLSConfig = cfg.TLS.Clone()
	}
	return s, nil
}

func notLoopbackError(addr string) error {
	return fmt.Errorf("admin.listen %q is not a loopback address: set admin.token or admin.token_file", addr)
}

// isLoopbackHost reports whether host (of host:port) names a loopback
// address. An empty host is every interface: not loopback.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if i := strings.IndexByte(host, '%'); i >= 0 { // fe80::1%eth0
		host = host[:i]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve answers requests until Shutdown; it returns nil then.
func (s *Server) Serve() error {
	var err error
	if s.srv.TLSConfig != nil {
		err = s.srv.ServeTLS(s.ln, "", "")
	} else {
		err = s.srv.Serve(s.ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("admin listener: %w", err)
}

// Shutdown stops the listener and waits for the requests in progress to
// end, until ctx is done: then it closes every connection left and returns
// ctx's error. Calling it again returns the first call's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		err := s.srv.Shutdown(ctx)
		if err != nil {
			s.srv.Close()
		}
		s.ln.Close() // when Serve was never called
		s.shutdownErr = err
	})
	return s.shutdownErr
}

// routes is the admin API's request multiplexer.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	if s.cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)

	mux.HandleFunc("GET /api/v1/server", s.handleServer)
	mux.HandleFunc("GET /api/v1/rooms", s.handleListRooms)
	mux.HandleFunc("POST /api/v1/rooms", s.handleCreateRoom)
	mux.HandleFunc("GET /api/v1/rooms/{name}", s.handleGetRoom)
	mux.HandleFunc("PATCH /api/v1/rooms/{name}", s.handlePatchRoom)
	mux.HandleFunc("DELETE /api/v1/rooms/{name}", s.handleDeleteRoom)
	mux.HandleFunc("POST /api/v1/rooms/{name}/kick", s.handleKick)
	mux.HandleFunc("POST /api/v1/reload", s.handleReload)
	mux.HandleFunc("GET /api/v1/trace", s.handleGetTrace)
	mux.HandleFunc("PUT /api/v1/trace", s.handlePutTrace)
	return mux
}

// handler is the whole chain: deadlines, authentication, the body limit,
// then the mux with its 404 and 405 answers made JSON.
func (s *Server) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setDeadlines(w, r)
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parleyd"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token", nil)
			return
		}
		if r.ContentLength > MaxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, tooLargeMessage, nil)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		if h, pattern := s.mux.Handler(r); pattern == "" {
			// No route: the mux answers 404 or 405 (with Allow) in
			// text; rewrite that as JSON.
			h.ServeHTTP(&jsonErrorWriter{ResponseWriter: w, r: r}, r)
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

// setDeadlines gives a request writeTimeout to be answered, and a profile
// or trace from /debug/pprof/ its duration and more to be read and written.
func setDeadlines(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	if !strings.HasPrefix(r.URL.Path, "/debug/pprof/") {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		return
	}
	d := time.Duration(pprofDefaultSeconds) * time.Second
	if v := r.URL.Query().Get("seconds"); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 && f < pprofMaxDuration.Seconds() {
			d = time.Duration(f * float64(time.Second))
		}
	}
	deadline := time.Now().Add(min(d, pprofMaxDuration) + pprofSlack)
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline)
}

// jsonErrorWriter turns the mux's own error answers (404, 405) into JSON.
type jsonErrorWriter struct {
	http.ResponseWriter
	r       *http.Request
	swallow bool
}

func (j *jsonErrorWriter) WriteHeader(code int) {
	if code < 400 || j.swallow {
		j.ResponseWriter.WriteHeader(code)
		return
	}
	j.swallow = true
	msg := strings.ToLower(http.StatusText(code))
	switch code {
	case http.StatusNotFound:
		msg = fmt.Sprintf("no such path: %s", j.r.URL.Path)
	case http.StatusMethodNotAllowed:
		msg = fmt.Sprintf("method %s not allowed on %s", j.r.Method, j.r.URL.Path)
	}
	h := j.ResponseWriter.Header()
	h.Del("Content-Length")
	h.Del("X-Content-Type-Options")
	writeError(j.ResponseWriter, code, msg, nil)
}

func (j *jsonErrorWriter) Write(p []byte) (int, error) {
	if j.swallow {
		return len(p), nil
	}
	return j.ResponseWriter.Write(p)
}

func (j *jsonErrorWriter) Unwrap() http.ResponseWriter { return j.ResponseWriter }
