package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/focus"
)

// NewLoopbackOnly is New for fuzz targets, whose inputs may name any host:
// the focus's own requests can reach only loopback addresses (a TCP
// connection elsewhere is refused before it is attempted) and no name is
// looked up. Answers, and requests over UDP, go to the address a request
// came from: loopback already.
func NewLoopbackOnly(cfg *config.Config, log *slog.Logger) (*Server, error) {
	return newServer(cfg, log, options{ua: focus.UAOptions{
		Resolver: &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("no name lookups in this test")
		}},
		DialControl: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !ap.Addr().IsLoopback() {
				return fmt.Errorf("test server: refusing to connect to %s", address)
			}
			return nil
		},
	}})
}

// NewWithHTTPSHeaderTimeout is New with the HTTPS listener's bound on the
// TLS handshake and request header set to d instead of 10 s.
func NewWithHTTPSHeaderTimeout(cfg *config.Config, log *slog.Logger, d time.Duration) (*Server, error) {
	return newServer(cfg, log, options{httpsHeaderTimeout: d})
}

// StoredRooms returns the URIs of the rooms the store keeps a record of.
func (s *Server) StoredRooms() ([]string, error) {
	if s.store == nil {
		return nil, errors.New("no store")
	}
	rs, err := s.store.Rooms(context.Background())
	var uris []string
	for _, r := range rs {
		uris = append(uris, r.URI)
	}
	return uris, err
}

// ParkedConnections is how many connections wait in the server's Parker.
func (s *Server) ParkedConnections() int { return s.parker.Parked() }
