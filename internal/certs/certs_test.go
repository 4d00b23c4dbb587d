package certs

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// handshake runs a TLS handshake against s over loopback, the client
// trusting roots and asking for serverName, and returns the certificate
// the server presented.
func handshake(t *testing.T, s *Store, roots *x509.CertPool, serverName string) (*x509.Certificate, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", s.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.(*tls.Conn).Handshake()
		io.Copy(io.Discard, c)
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: serverName,
		Time: func() time.Time { return now }})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

func pool(s *Store) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Certificate().Leaf)
	return p
}

// SelfSigned makes a certificate for every host on first start, keeps it
// (key readable by its owner only), and gives the same one back on the
// next start; clients that trust it verify every host name.
func TestSelfSignedKeptAndVerifiable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "parley-data")
	hosts := []string{"chat.example.com", "127.0.0.1", "::1"}
	s, fresh, err := SelfSigned(dir, hosts, now)
	if err != nil || !fresh || !s.SelfSigned() {
		t.Fatalf("first start: fresh %v, self %v, %v", fresh, s != nil && s.SelfSigned(), err)
	}
	fp := s.Fingerprint()
	if len(fp) != len("SHA-256 ")+32*3-1 {
		t.Errorf("fingerprint %q", fp)
	}
	if st, err := os.Stat(filepath.Join(dir, SelfSignedKey)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, st.Mode().Perm())
	}
	for _, h := range hosts {
		if _, err := handshake(t, s, pool(s), h); err != nil {
			t.Errorf("handshake for %s: %v", h, err)
		}
	}
	if _, err := handshake(t, s, pool(s), "other.example.com"); err == nil {
		t.Error("a host the certificate does not name was accepted")
	}
	again, fresh, err := SelfSigned(dir, hosts, now.Add(24*time.Hour))
	if err != nil || fresh || again.Fingerprint() != fp {
		t.Errorf("second start: fresh %v, fingerprint %q (was %q), %v", fresh, again.Fingerprint(), fp, err)
	}
}

// A kept certificate is made anew when it nears its end, when the hosts
// change, and when its files are damaged.
func TestSelfSignedRenewed(t *testing.T) {
	dir := t.TempDir()
	s, _, err := SelfSigned(dir, []string{"127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	fp := s.Fingerprint()
	for _, tc := range []struct {
		name  string
		hosts []string
		at    time.Time
		prep  func()
	}{
		{"near its end", []string{"127.0.0.1"}, now.Add(340 * 24 * time.Hour), nil},
		{"a new host", []string{"127.0.0.1", "chat.example.com"}, now, nil},
		{"damaged", []string{"127.0.0.1"}, now, func() { os.WriteFile(filepath.Join(dir, SelfSignedCert), []byte("junk"), 0o644) }},
	} {
		if tc.prep != nil {
			tc.prep()
		}
		s, fresh, err := SelfSigned(dir, tc.hosts, tc.at)
		if err != nil || !fresh || s.Fingerprint() == fp {
			t.Errorf("%s: fresh %v, same fingerprint %v, %v", tc.name, fresh, s != nil && s.Fingerprint() == fp, err)
			continue
		}
		fp = s.Fingerprint()
	}
}

// Reload swaps the certificate of new handshakes; a bad pair leaves the
// one in use.
func TestReload(t *testing.T) {
	a, _, err := SelfSigned(t.TempDir(), []string{"127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := SelfSigned(t.TempDir(), []string{"127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	copyPair := func(from *Store) {
		fc, fk := from.Files()
		for src, dst := range map[string]string{fc: certFile, fk: keyFile} {
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	copyPair(a)
	s, err := Load(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if s.Fingerprint() != a.Fingerprint() || s.SelfSigned() {
		t.Fatalf("loaded %q, want %q", s.Fingerprint(), a.Fingerprint())
	}
	copyPair(b)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if got, err := handshake(t, s, pool(b), "127.0.0.1"); err != nil || Fingerprint(got.Raw) != b.Fingerprint() {
		t.Errorf("after reload the handshake presented %v (%v), want the new certificate", got != nil, err)
	}
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	if err := s.Reload(); err == nil {
		t.Error("reloading a bad key succeeded")
	}
	if s.Fingerprint() != b.Fingerprint() {
		t.Error("a failed reload replaced the certificate in use")
	}
	if _, err := Load(filepath.Join(dir, "missing.pem"), keyFile); err == nil {
		t.Error("loading a missing file succeeded")
	}
}
