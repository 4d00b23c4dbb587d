// Package storetest runs a NATS server with JetStream on loopback, the
// external server of a store.url, for the tests of packages that use the
// store (internal/store and this package are the only ones that import
// NATS): a test can stop it and start it again on the same port and
// directory, as an operator's NATS server goes away and comes back.
package storetest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server with JetStream on 127.0.0.1.
type Server struct {
	tb   testing.TB
	dir  string
	port int
	srv  *server.Server
}

// Start runs a server keeping JetStream's data in dir, on a free port; the
// test's cleanup stops it.
func Start(tb testing.TB, dir string) *Server {
	tb.Helper()
	s := &Server{tb: tb, dir: dir, port: server.RANDOM_PORT}
	s.start()
	s.port = s.srv.Addr().(*net.TCPAddr).Port
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.tb.Helper()
	srv, err := server.NewServer(&server.Options{
		ServerName: "storetest",
		Host:       "127.0.0.1",
		Port:       s.port,
		NoSigs:     true,
		NoLog:      true,
		JetStream:  true,
		StoreDir:   s.dir,
	})
	if err != nil {
		s.tb.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		s.tb.Fatal("storetest: NATS server not ready")
	}
	s.srv = srv
}

// URL is the server's client URL, for store.url.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Stop shuts the server down; idempotent.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// Restart starts the server again on the same port and directory.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.start()
}
