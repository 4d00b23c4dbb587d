package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartupErrorIsOneLine: a listener that cannot bind (the port is
// taken) stops parleyd with one line naming it and the cause, and exit
// status 1 — not a panic.
func TestStartupErrorIsOneLine(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"SIP UDP", []string{"-sip-udp", udp.LocalAddr().String(), "-sip-tcp", "127.0.0.1:0", "-msrp", "127.0.0.1:0"}, "SIP UDP listener"},
		{"SIP TCP", []string{"-sip-udp", "127.0.0.1:0", "-sip-tcp", tcp.Addr().String(), "-msrp", "127.0.0.1:0"}, "SIP TCP listener"},
		{"MSRP", []string{"-sip-udp", "127.0.0.1:0", "-sip-tcp", "127.0.0.1:0", "-msrp", tcp.Addr().String()}, "MSRP listener"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(c.args, "-sip-tls=", "-msrp-tls=", "-https=") // TLS has its own case below
			if code := run(args, &stdout, &stderr); code != 1 {
				t.Fatalf("exit status %d, want 1; stderr:\n%s", code, stderr.String())
			}
			out := strings.TrimSpace(stderr.String())
			if strings.Count(out, "\n") != 0 || !strings.HasPrefix(out, "parleyd: "+c.want) || !strings.Contains(out, "address already in use") {
				t.Fatalf("stderr is not one clear line:\n%s", out)
			}
		})
	}
}

// TestCertificateErrorIsOneLine: a [tls] certificate that cannot be read
// stops parleyd at start with one line naming it, and exit status 1.
func TestCertificateErrorIsOneLine(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "parleyd.toml")
	missing := filepath.Join(dir, "missing.pem")
	if err := os.WriteFile(conf, []byte("[tls]\ncert = \""+missing+"\"\nkey = \""+missing+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"-config", conf, "-sip-udp", "127.0.0.1:0", "-sip-tcp", "127.0.0.1:0", "-sip-tls", "127.0.0.1:0",
		"-msrp", "127.0.0.1:0", "-msrp-tls", "127.0.0.1:0", "-https", "127.0.0.1:0"}
	if code := run(args, &stdout, &stderr); code != 1 {
		t.Fatalf("exit status %d, want 1; stderr:\n%s", code, stderr.String())
	}
	out := strings.TrimSpace(stderr.String())
	if strings.Count(out, "\n") != 0 || !strings.HasPrefix(out, "parleyd: TLS certificate: ") || !strings.Contains(out, "missing.pem") {
		t.Fatalf("stderr is not one clear line:\n%s", out)
	}
}
