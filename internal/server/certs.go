package server

import (
	"errors"
	"log/slog"
	"time"

	"github.com/parley-im/parley/internal/certs"
	"github.com/parley-im/parley/internal/config"
)

// loadCertificate gives the TLS listeners (SIP sips, MSRP msrps) their
// certificate: the [tls] PEM pair when configured, else the self-signed
// one kept in server.data_dir for server.host (made on first start, and
// again 30 days before it ends). The SHA-256 fingerprint is logged at INFO
// in both cases: with a self-signed certificate, it is what clients are
// told to check (RFC 8122 §5 form); with a real one, it tells the operator
// which certificate is in use.
func loadCertificate(cfg *config.Config, log *slog.Logger) (*certs.Store, error) {
	if cfg.TLS.Cert != "" {
		st, err := certs.Load(cfg.TLS.Cert, cfg.TLS.Key)
		if err != nil {
			return nil, err
		}
		log.Info("TLS certificate loaded", "cert", cfg.TLS.Cert, "fingerprint", st.Fingerprint(),
			"not_after", st.Certificate().Leaf.NotAfter.Format(time.DateOnly))
		return st, nil
	}
	st, fresh, err := certs.SelfSigned(cfg.Server.DataDir, []string{cfg.Server.Host}, time.Now())
	if err != nil {
		return nil, err
	}
	cert, _ := st.Files()
	msg := "TLS certificate: self-signed, kept from an earlier start"
	if fresh {
		msg = "TLS certificate: self-signed, made now"
	}
	log.Info(msg, "file", cert, "host", cfg.Server.Host, "fingerprint", st.Fingerprint(),
		"not_after", st.Certificate().Leaf.NotAfter.Format(time.DateOnly))
	return st, nil
}

// errNoTLS: ReloadCertificates on a server without a TLS listener.
var errNoTLS = errors.New("no TLS listener: nothing to reload")

// ReloadCertificates reads the [tls] certificate and key files again
// (SIGHUP): new TLS handshakes, SIP and MSRP, get the new certificate;
// connections already established keep theirs, none is dropped. A pair
// that cannot be read leaves the one in use and is returned as an error.
// A self-signed certificate is read again from the data directory.
func (s *Server) ReloadCertificates() error {
	if s.certs == nil {
		return errNoTLS
	}
	if err := s.certs.Reload(); err != nil {
		return err
	}
	s.log.Info("TLS certificate reloaded", "fingerprint", s.certs.Fingerprint())
	return nil
}

// CertificateFingerprint is the SHA-256 fingerprint of the certificate
// new TLS handshakes get, "" without TLS.
func (s *Server) CertificateFingerprint() string {
	if s.certs == nil {
		return ""
	}
	return s.certs.Fingerprint()
}
