package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/parley-im/parley/internal/config"
)

// Trusted proxies named by their TLS client certificate (issue 17,
// sip.trusted_proxies): a SIP TLS connection whose client presents a
// certificate that verifies (against tls.client_ca, else the system's
// roots) is known by the certificate's DNS names and common name while it
// lasts. The focus asks, for a request's source, whether one of them is a
// trusted proxy's (focus.DigestAuth.PeerNames); a connection without a
// certificate, or one that does not verify, is known by no name (a client
// that sends one that does not verify fails its handshake).

// peerNames are the verified certificate names of the SIP TLS connections,
// by remote address ("ip:port", as sipgo gives a request's source).
type peerNames struct {
	mu sync.Mutex
	m  map[string][]string
}

func (p *peerNames) set(remote string, names []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = make(map[string][]string)
	}
	p.m[remote] = names
}

func (p *peerNames) forget(remote string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, remote)
}

// lookup returns the names of the connection from remote (nil: none).
func (p *peerNames) lookup(remote string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[remote]
}

// certNames are the names a verified client certificate proves: its DNS
// names and its common name, lower-cased.
func certNames(cs tls.ConnectionState) []string {
	if len(cs.VerifiedChains) == 0 || len(cs.PeerCertificates) == 0 {
		return nil
	}
	leaf := cs.PeerCertificates[0]
	names := make([]string, 0, len(leaf.DNSNames)+1)
	for _, n := range leaf.DNSNames {
		names = append(names, strings.ToLower(n))
	}
	if leaf.Subject.CommonName != "" {
		names = append(names, strings.ToLower(leaf.Subject.CommonName))
	}
	return names
}

// trustedNames are the entries of sip.trusted_proxies that are
// certificate names, not addresses.
func trustedNames(cfg *config.Config) []string {
	var names []string
	for _, t := range cfg.SIP.TrustedProxies {
		if _, err := config.ParsePrefix(t); err != nil {
			names = append(names, strings.ToLower(t))
		}
	}
	return names
}

// clientAuth makes the SIP TLS configuration ask for a client certificate
// (verified against tls.client_ca, else the system's roots) when a
// trusted proxy is named by its certificate; unchanged otherwise.
func clientAuth(cfg *config.Config, tc *tls.Config) (*tls.Config, error) {
	if len(trustedNames(cfg)) == 0 {
		return tc, nil
	}
	tc = tc.Clone()
	tc.ClientAuth = tls.VerifyClientCertIfGiven
	if cfg.TLS.ClientCA != "" {
		pem, err := os.ReadFile(cfg.TLS.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.client_ca %s: no PEM certificate in it", cfg.TLS.ClientCA)
		}
		tc.ClientCAs = pool
	}
	return tc, nil
}

// addrKey is a connection's remote address as sipgo spells a request's
// source.
func addrKey(a net.Addr) string { return a.String() }
