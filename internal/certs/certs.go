// Package certs gives parleyd its TLS certificate: a PEM certificate and
// key named in the configuration, reloaded on demand (SIGHUP) without
// dropping a connection, or, with none configured, a self-signed one made
// on first start and kept in the data directory, so that a server started
// with no setup still speaks TLS.
//
// A Store hands the current certificate to every new TLS handshake
// (tls.Config.GetCertificate); a reload swaps it atomically, and
// connections already established keep the one they were made with.
package certs

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
)

// Store holds the certificate new TLS handshakes get.
type Store struct {
	cur      atomic.Pointer[tls.Certificate]
	certFile string // "" for a certificate made in memory only
	keyFile  string
	self     bool // made by SelfSigned
}

// Load reads a PEM certificate chain and its private key.
func Load(certFile, keyFile string) (*Store, error) {
	s := &Store{certFile: certFile, keyFile: keyFile}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the store's files again and, if they hold a valid pair,
// makes them the certificate of every new handshake. On an error the
// certificate in use stays. A store made in memory has nothing to reload.
func (s *Store) Reload() error {
	if s.certFile == "" {
		return nil
	}
	c, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
	if err != nil {
		return fmt.Errorf("certs: loading %s and %s: %w", s.certFile, s.keyFile, err)
	}
	if c.Leaf == nil && len(c.Certificate) > 0 {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return fmt.Errorf("certs: %s: %w", s.certFile, err)
		}
	}
	s.cur.Store(&c)
	return nil
}

// Certificate is the certificate in use.
func (s *Store) Certificate() *tls.Certificate { return s.cur.Load() }

// SelfSigned reports whether the certificate was made by SelfSigned.
func (s *Store) SelfSigned() bool { return s.self }

// Files are the certificate and key files ("" when made in memory).
func (s *Store) Files() (cert, key string) { return s.certFile, s.keyFile }

// GetCertificate implements tls.Config.GetCertificate.
func (s *Store) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := s.cur.Load()
	if c == nil {
		return nil, errors.New("certs: no certificate")
	}
	return c, nil
}

// ServerConfig is a TLS server configuration that takes its certificate
// from s at each handshake: TLS 1.2 at least (RFC 7525 §3.1.1; RFC 3261
// §26.2.1 asks for TLS, RFC 4975 §14.3 for TLS on msrps), Go's default
// cipher suites, nextProtos for ALPN if any.
func (s *Store) ServerConfig(nextProtos ...string) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.GetCertificate,
		NextProtos:     nextProtos,
	}
}

// Fingerprint is the SHA-256 fingerprint of the certificate in use, in
// the form of RFC 8122 §5 ("SHA-256 AB:CD:…"), or "" without one.
func (s *Store) Fingerprint() string {
	c := s.cur.Load()
	if c == nil || len(c.Certificate) == 0 {
		return ""
	}
	return Fingerprint(c.Certificate[0])
}

// Fingerprint is the SHA-256 fingerprint of a DER certificate, as
// "SHA-256 " and the hash in upper-case hex pairs joined by colons.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	b.WriteString("SHA-256 ")
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}
