package main

import (
	"bytes"
	"net"
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
			if code := run(c.args, &stdout, &stderr); code != 1 {
				t.Fatalf("exit status %d, want 1; stderr:\n%s", code, stderr.String())
			}
			out := strings.TrimSpace(stderr.String())
			if strings.Count(out, "\n") != 0 || !strings.HasPrefix(out, "parleyd: "+c.want) || !strings.Contains(out, "address already in use") {
				t.Fatalf("stderr is not one clear line:\n%s", out)
			}
		})
	}
}
