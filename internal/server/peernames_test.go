package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/servertest"
	"github.com/parley-im/parley/internal/store/storetest"
)

// testCA is a certificate authority for client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// pemFile writes the CA's certificate as PEM and returns the file.
func (ca *testCA) pemFile(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// client issues a client certificate for name.
func (ca *testCA) client(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTrustedProxyByCertificate: a trusted proxy named by its TLS client
// certificate (sip.trusted_proxies, tls.client_ca) asserts an account's
// identity with P-Asserted-Identity and is believed, unchallenged (RFC
// 3325); the same request over a TLS connection without a certificate,
// or with a certificate of another name, is challenged like anyone's.
func TestTrustedProxyByCertificate(t *testing.T) {
	ca := newTestCA(t)
	cfg := tlsConfig(t)
	cfg.Store.Mode = config.StoreFile
	cfg.SIP.TrustedProxies = []string{"pcscf.example.net"}
	cfg.TLS.ClientCA = ca.pemFile(t)
	storetest.SeedAccount(t, cfg.Server.DataDir, "alice", cfg.Server.Host, "wonderland")
	srv, client := startTLS(t, cfg)
	room := "sips:lobby@" + srv.Addrs().SIPTLS
	alice := "<sips:alice@" + cfg.Server.Host + ">"

	try := func(cert *tls.Certificate, want int) {
		t.Helper()
		c := client.Clone()
		if cert != nil {
			c.Certificates = []tls.Certificate{*cert}
		}
		p := dialSIPTLS(t, srv, c)
		sid := servertest.RandomToken()
		req := servertest.WithFrom(p.Build(servertest.Req{Method: "INVITE", URI: room, CallID: servertest.RandomToken(), FromTag: "ft", CSeq: 1,
			Extra: []string{"P-Asserted-Identity: " + alice}, Body: servertest.SecureOffer(9, sid)}), alice)
		expect(t, p, req, want, "")
	}
	other := ca.client(t, "elsewhere.example.net")
	try(nil, 401)
	try(&other, 401)
	proxy := ca.client(t, "pcscf.example.net")
	try(&proxy, 200)
}
