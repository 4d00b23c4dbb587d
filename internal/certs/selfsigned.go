package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Names of the self-signed pair in the data directory.
const (
	SelfSignedCert = "parley-selfsigned.crt"
	SelfSignedKey  = "parley-selfsigned.key"
)

// selfSignedLifetime: a year. Browsers refuse server certificates valid
// for longer than 398 days even when the user accepted them once.
const selfSignedLifetime = 365 * 24 * time.Hour

// renewBefore: a kept certificate this close to its end is made anew.
const renewBefore = 30 * 24 * time.Hour

// SelfSigned returns a store with the self-signed certificate kept in dir
// (created if missing, mode 0700) for hosts (DNS names or IP addresses):
// the one made on an earlier start if it still names every host and is
// valid for more than 30 days at now, else a new one (ECDSA P-256, a
// year), written there with the key readable by its owner only. fresh
// reports whether it was made now.
func SelfSigned(dir string, hosts []string, now time.Time) (s *Store, fresh bool, err error) {
	if len(hosts) == 0 {
		return nil, false, errors.New("certs: a self-signed certificate needs at least one host name")
	}
	certFile, keyFile := filepath.Join(dir, SelfSignedCert), filepath.Join(dir, SelfSignedKey)
	// A pair that is missing, damaged, expiring or for other hosts is
	// made anew, over the old files.
	if s, err := Load(certFile, keyFile); err == nil && covers(s.Certificate().Leaf, hosts, now) {
		s.self = true
		return s, false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("certs: data directory: %w", err)
	}
	certPEM, keyPEM, err := makeSelfSigned(hosts, now)
	if err != nil {
		return nil, false, err
	}
	if err := writeFile(keyFile, keyPEM, 0o600); err != nil {
		return nil, false, err
	}
	if err := writeFile(certFile, certPEM, 0o644); err != nil {
		return nil, false, err
	}
	s, err = Load(certFile, keyFile)
	if err != nil {
		return nil, false, err
	}
	s.self = true
	return s, true, nil
}

// covers reports whether leaf is valid at now for more than renewBefore
// and names every host.
func covers(leaf *x509.Certificate, hosts []string, now time.Time) bool {
	if leaf == nil || now.Before(leaf.NotBefore) || now.Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func makeSelfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"parley (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// writeFile writes data to a temporary file next to name and renames it
// over name, so that a crash never leaves half a key behind.
func writeFile(name string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename: nothing left to remove
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: writing %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("certs: writing %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}
