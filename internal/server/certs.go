package server

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/parley-im/parley/internal/certs"
	"github.com/parley-im/parley/internal/config"
)

// loadCertificate gives the TLS listeners (SIP sips, MSRP msrps, HTTPS) their
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

// defaultTLSOrOff returns cfg, or a copy with TLS turned off where TLS was
// not asked for and cannot be had. The TLS listeners are on by default so
// that `parleyd` with no setup speaks TLS too; but a default must not stop
// a server that runs fine without it. So when TLS is left at its defaults
// (the default addresses, no [tls] certificate), a default TLS port already
// in use, or a data directory where the self-signed certificate cannot be
// kept, turns that part of TLS off with a warning instead of failing the
// start. Anything configured explicitly fails as before, in one line.
func defaultTLSOrOff(cfg *config.Config, log *slog.Logger) *config.Config {
	if cfg.TLS.Cert != "" || !cfg.UsesTLS() {
		return cfg
	}
	def := config.Default()
	c := *cfg
	off := func(what string, err error) {
		log.Warn("TLS left off: "+what, "error", err, "hint", "set sip.tls, msrp.tls_listen, https.listen or server.data_dir to use TLS, or \"\" to turn it off")
	}
	for _, l := range []struct {
		addr *string
		def  string
		what string
	}{
		{&c.SIP.TLS, def.SIP.TLS, "the default SIP TLS port is not free"},
		{&c.MSRP.TLSListen, def.MSRP.TLSListen, "the default MSRP TLS port is not free"},
		{&c.HTTPS.Listen, def.HTTPS.Listen, "the default HTTPS port is not free"},
	} {
		if *l.addr == "" || *l.addr != l.def {
			continue
		}
		ln, err := net.Listen("tcp", *l.addr)
		if err != nil {
			off(l.what, err)
			*l.addr = ""
			continue
		}
		ln.Close()
	}
	atDefault := func(addr, def string) bool { return addr == "" || addr == def }
	defaults := atDefault(cfg.SIP.TLS, def.SIP.TLS) && atDefault(cfg.MSRP.TLSListen, def.MSRP.TLSListen) && atDefault(cfg.HTTPS.Listen, def.HTTPS.Listen)
	if c.UsesTLS() && defaults && c.Server.DataDir == def.Server.DataDir {
		if err := os.MkdirAll(c.Server.DataDir, 0o700); err != nil {
			off("no data directory for the self-signed certificate", err)
			c.SIP.TLS, c.MSRP.TLSListen, c.HTTPS.Listen = "", "", ""
		} else if f, err := os.CreateTemp(c.Server.DataDir, ".probe-*"); err != nil {
			off("the data directory cannot be written", err)
			c.SIP.TLS, c.MSRP.TLSListen, c.HTTPS.Listen = "", "", ""
		} else {
			f.Close()
			os.Remove(f.Name())
		}
	}
	return &c
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

// TLSConfig is a server TLS configuration with the certificate of the TLS
// listeners (reloaded with them), for another listener of the process: the
// admin listener off loopback. nil when no TLS listener is on.
func (s *Server) TLSConfig() *tls.Config {
	if s.certs == nil {
		return nil
	}
	return s.certs.ServerConfig()
}
