package main

import (
	"crypto/x509"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/certs"
)

func TestRoomURI(t *testing.T) {
	cases := []struct {
		arg, server       string
		room, dest, errIs string
	}{
		{arg: "sip:lobby@127.0.0.1", room: "sip:lobby@127.0.0.1"},
		{arg: "sip:lobby@chat.example.org", server: "127.0.0.1:5070", room: "sip:lobby@chat.example.org", dest: "127.0.0.1:5070"},
		{arg: "lobby", room: "sip:lobby@127.0.0.1", dest: "127.0.0.1:5060"},
		{arg: "lobby", server: "127.0.0.1:5070", room: "sip:lobby@127.0.0.1:5070", dest: "127.0.0.1:5070"},
		{arg: "lobby", server: "[::1]:5060", room: "sip:lobby@[::1]", dest: "[::1]:5060"},
		{arg: "", errIs: "no room"},
		{arg: "a b", errIs: "give a sip: URI"},
		{arg: "http://x", errIs: "give a sip: URI"},
		{arg: "lobby", server: "localhost", errIs: "want host:port"},
	}
	for _, c := range cases {
		cm := common{server: c.server}
		room, dest, err := cm.roomURI(c.arg)
		if c.errIs != "" {
			if err == nil || !strings.Contains(err.Error(), c.errIs) {
				t.Errorf("roomURI(%q, %q) error %v, want %q", c.arg, c.server, err, c.errIs)
			}
			continue
		}
		if err != nil || room != c.room || dest != c.dest {
			t.Errorf("roomURI(%q, %q) = %q, %q, %v; want %q, %q", c.arg, c.server, room, dest, err, c.room, c.dest)
		}
	}
}

func TestDefaultFrom(t *testing.T) {
	cm := common{nick: "Élodie B.", transport: "tcp"}
	o, err := cm.options("sip:lobby@127.0.0.1:5070", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(o.From, "sip:lodieb.-") || !strings.HasSuffix(o.From, "@127.0.0.1:5070") || o.DisplayName != "Élodie B." {
		t.Errorf("From %q, display %q", o.From, o.DisplayName)
	}
	o2, _ := cm.options("sip:lobby@127.0.0.1:5070", io.Discard)
	if o2.From == o.From {
		t.Errorf("two default Froms are equal: %q", o.From)
	}
	cm.transport = "sctp"
	if _, err := cm.options("sip:lobby@127.0.0.1", io.Discard); err == nil {
		t.Error("transport sctp accepted")
	}
}

func TestParseArgsFlagsAnywhere(t *testing.T) {
	var c common
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.flags(fs)
	pos, err := parseArgs(fs, []string{"lobby", "--nick", "bob", "hello", "--transport", "udp", "--", "--not-a-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pos, "|") != "lobby|hello|--not-a-flag" || c.nick != "bob" || c.transport != "udp" {
		t.Errorf("pos %q, nick %q, transport %q", pos, c.nick, c.transport)
	}
}

func TestRoomURITLS(t *testing.T) {
	for _, c := range []struct{ arg, server, room, dest string }{
		{arg: "lobby", room: "sips:lobby@127.0.0.1", dest: "127.0.0.1:5061"},
		{arg: "lobby", server: "127.0.0.1:5071", room: "sips:lobby@127.0.0.1:5071", dest: "127.0.0.1:5071"},
		{arg: "lobby", server: "[::1]:5061", room: "sips:lobby@[::1]", dest: "[::1]:5061"},
		{arg: "sip:lobby@example.com", room: "sip:lobby@example.com"},
	} {
		cm := common{server: c.server, transport: "TLS"}
		room, dest, err := cm.roomURI(c.arg)
		if err != nil || room != c.room || dest != c.dest {
			t.Errorf("roomURI(%q, %q) over TLS = %q, %q, %v; want %q, %q", c.arg, c.server, room, dest, err, c.room, c.dest)
		}
	}
}

// --transport, --ca and --insecure become client.Options: TLS for a sips:
// room or --transport tls, the system's roots by default, --ca's roots,
// --insecure with its warning; the combinations that make no sense are
// refused.
func TestTLSFlags(t *testing.T) {
	var c common
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.flags(fs)
	if _, err := parseArgs(fs, []string{"lobby", "--transport", "tls", "--ca", "x.pem", "--insecure"}); err != nil {
		t.Fatal(err)
	}
	if c.transport != "tls" || c.ca != "x.pem" || !c.insecure {
		t.Errorf("parsed %+v", c)
	}

	dir := t.TempDir()
	crt, _, err := certs.SelfSigned(dir, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, certs.SelfSignedCert)
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)

	var stderr strings.Builder
	o, err := (&common{}).options("sips:lobby@127.0.0.1", &stderr)
	if err != nil || o.Transport != "tls" || o.TLS == nil || o.TLS.RootCAs != nil || o.TLS.InsecureSkipVerify {
		t.Errorf("a sips: room: %+v, %v; want TLS with the system's roots", o.TLS, err)
	}
	o, err = (&common{}).options("sip:lobby@127.0.0.1;transport=tls", &stderr)
	if err != nil || o.Transport != "tls" || o.TLS == nil {
		t.Errorf("transport=tls in the room: %q %+v, %v", o.Transport, o.TLS, err)
	}
	o, err = (&common{transport: "tls", ca: caFile}).options("sip:lobby@127.0.0.1", &stderr)
	want := x509.NewCertPool()
	want.AddCert(crt.Certificate().Leaf)
	if err != nil || o.TLS == nil || o.TLS.RootCAs == nil || !o.TLS.RootCAs.Equal(want) {
		t.Errorf("--ca: %+v, %v; want the certificate of %s as the only root", o.TLS, err, caFile)
	}
	if o, _ := (&common{transport: "tcp"}).options("sip:lobby@127.0.0.1", &stderr); o.TLS != nil || o.Transport != "tcp" {
		t.Errorf("TCP with a TLS config: %+v", o)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr without --insecure: %q", stderr.String())
	}

	o, err = (&common{insecure: true}).options("sips:lobby@127.0.0.1", &stderr)
	if err != nil || o.TLS == nil || !o.TLS.InsecureSkipVerify {
		t.Errorf("--insecure: %+v, %v", o.TLS, err)
	}
	for _, w := range []string{"WARNING", "--insecure", "NOT verified", "encrypted, but the server is not authenticated"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("--insecure's warning lacks %q:\n%s", w, stderr.String())
		}
	}

	for _, bad := range []struct {
		c    common
		room string
		want string
	}{
		{common{transport: "tcp"}, "sips:lobby@127.0.0.1", "sips: room is reached over TLS only"},
		{common{transport: "udp"}, "sips:lobby@127.0.0.1", "sips: room is reached over TLS only"},
		{common{ca: caFile}, "sip:lobby@127.0.0.1", "--ca and --insecure are for TLS"},
		{common{insecure: true, transport: "tcp"}, "sip:lobby@127.0.0.1", "--ca and --insecure are for TLS"},
		{common{transport: "tls", ca: caFile, insecure: true}, "sip:lobby@127.0.0.1", "contradict"},
		{common{transport: "tls", ca: notPEM}, "sip:lobby@127.0.0.1", "no PEM certificate"},
		{common{transport: "tls", ca: filepath.Join(dir, "missing.pem")}, "sip:lobby@127.0.0.1", "no such file"},
		{common{transport: "sctp"}, "sip:lobby@127.0.0.1", "want udp, tcp, tls or ws"},
		{common{transport: "ws", ca: caFile, insecure: true}, "sip:lobby@127.0.0.1", "contradict"},
		{common{transport: "ws", server: "localhost"}, "sip:lobby@127.0.0.1", "want host:port or wss://"},
	} {
		if _, err := bad.c.options(bad.room, io.Discard); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v for %s: %v, want %q", bad.c, bad.room, err, bad.want)
		}
	}
}

func TestRoomURIWS(t *testing.T) {
	for _, c := range []struct{ arg, server, room, dest, errIs string }{
		{arg: "lobby", room: "sip:lobby@127.0.0.1", dest: "127.0.0.1:8443"},
		{arg: "lobby", server: "127.0.0.1:9443", room: "sip:lobby@127.0.0.1", dest: "127.0.0.1:9443"},
		{arg: "lobby", server: "[::1]:8443", room: "sip:lobby@[::1]", dest: "[::1]:8443"},
		{arg: "lobby", server: "wss://chat.example.com/ws", room: "sip:lobby@chat.example.com", dest: "wss://chat.example.com/ws"},
		{arg: "sips:lobby@example.com", room: "sips:lobby@example.com"},
		{arg: "lobby", server: "chat.example.com", errIs: "want host:port or wss://"},
		{arg: "lobby", server: "wss://", errIs: "want host:port or wss://"},
		{arg: "a b", errIs: "give a sip: URI"},
	} {
		cm := common{server: c.server, transport: "ws"}
		room, dest, err := cm.roomURI(c.arg)
		if c.errIs != "" {
			if err == nil || !strings.Contains(err.Error(), c.errIs) {
				t.Errorf("roomURI(%q, %q) over ws: error %v, want %q", c.arg, c.server, err, c.errIs)
			}
			continue
		}
		if err != nil || room != c.room || dest != c.dest {
			t.Errorf("roomURI(%q, %q) over ws = %q, %q, %v; want %q, %q", c.arg, c.server, room, dest, err, c.room, c.dest)
		}
	}
}

// --transport ws: SIP and MSRP over secure WebSockets, with TLS options
// as over TLS (--ca, --insecure), --server as the WebSocket URL.
func TestWSFlags(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := certs.SelfSigned(dir, []string{"127.0.0.1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, certs.SelfSignedCert)
	var stderr strings.Builder
	o, err := (&common{transport: "WS", ca: caFile, server: "127.0.0.1:9443"}).options("sip:lobby@127.0.0.1", &stderr)
	if err != nil || o.Transport != "ws" || o.TLS == nil || o.TLS.RootCAs == nil || o.Server != "" || o.WebSocketURL != "wss://127.0.0.1:9443/" {
		t.Errorf("--transport ws --ca --server: %+v, %v", o, err)
	}
	o, err = (&common{transport: "ws", server: "wss://chat.example.com/ws"}).options("sips:lobby@chat.example.com", &stderr)
	if err != nil || o.Transport != "ws" || o.TLS == nil || o.TLS.RootCAs != nil || o.WebSocketURL != "wss://chat.example.com/ws" {
		t.Errorf("--transport ws on a sips: room, --server a URL: %+v, %v", o, err)
	}
	o, err = (&common{}).options("sip:lobby@127.0.0.1;transport=ws", &stderr)
	if err != nil || o.Transport != "ws" || o.TLS == nil || o.WebSocketURL != "" {
		t.Errorf("transport=ws in the room: %+v, %v", o, err)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr without --insecure: %q", stderr.String())
	}
	o, err = (&common{transport: "ws", insecure: true}).options("sip:lobby@127.0.0.1", &stderr)
	if err != nil || o.TLS == nil || !o.TLS.InsecureSkipVerify || !strings.Contains(stderr.String(), "WARNING") {
		t.Errorf("--transport ws --insecure: %+v, %v, stderr %q", o.TLS, err, stderr.String())
	}
}
