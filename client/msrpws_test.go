package client

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/parley-im/parley/msrp"
)

// quietTLSServer is an httptest TLS server that does not log (handshakes
// refused by the client).
func quietTLSServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv
}

// wsPeer is a WebSocket server with the subprotocol msrp on an httptest
// TLS server: each connection is handed to serve. The caller closes it.
func wsPeer(t *testing.T, serve func(*websocket.Conn)) (*httptest.Server, *tls.Config, msrp.URI, *url.URL) {
	t.Helper()
	srv := quietTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"msrp"}})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		serve(ws)
	}))
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	first := msrp.URI{Secure: true, Host: "127.0.0.1", Port: port, SessionID: "s", Transport: "ws"}
	base := &url.URL{Scheme: "wss", Host: "127.0.0.1:1", Path: "/ws"}
	trust := &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	return srv, trust, first, base
}

// The MSRP WebSocket: each Write is one binary WebSocket message, to the
// switch URI's host and port on the WebSocketURL's path; what the peer
// sends is read as one stream across its messages, text and binary
// alike; the peer's close with 1001 is EOF.
func TestWSStream(t *testing.T) {
	defer goleak.VerifyNone(t)
	type got struct {
		typ  websocket.MessageType
		data string
		path string
	}
	gotc := make(chan got, 4)
	srv, trust, first, base := wsPeer(t, func(ws *websocket.Conn) {
		ctx := context.Background()
		for range 2 {
			typ, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			gotc <- got{typ, string(b), ""}
		}
		ws.Write(ctx, websocket.MessageText, []byte("MSRP a1 200 OK\r\nTo-Path: x"))
		ws.Write(ctx, websocket.MessageBinary, []byte("\r\n-------a1$\r\n"))
		ws.Close(websocket.StatusGoingAway, "")
	})
	defer srv.Close()
	nc, err := dialMSRPWebSocket(t.Context(), first, base, time.Second, trust, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, m := range []string{"first message", strings.Repeat("é", 3000)} {
		if n, err := nc.Write([]byte(m)); err != nil || n != len(m) {
			t.Fatalf("Write: %d, %v", n, err)
		}
		select {
		case g := <-gotc:
			if g.typ != websocket.MessageBinary || g.data != m {
				t.Errorf("the peer got a %v message of %d octets, want binary, %d", g.typ, len(g.data), len(m))
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the peer got nothing")
		}
	}
	b, err := io.ReadAll(nc)
	if err != nil || string(b) != "MSRP a1 200 OK\r\nTo-Path: x\r\n-------a1$\r\n" {
		t.Errorf("read %q, %v; want both messages, then EOF", b, err)
	}
}

// Close does not wait long on a switch that does not answer the close
// handshake.
func TestWSStreamCloseBounded(t *testing.T) {
	defer goleak.VerifyNone(t)
	release := make(chan struct{})
	srv, trust, first, base := wsPeer(t, func(*websocket.Conn) { <-release })
	defer srv.Close()
	defer close(release)
	nc, err := dialMSRPWebSocket(t.Context(), first, base, time.Second, trust, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() { _, err := nc.Read(make([]byte, 10)); read <- err }()
	start := time.Now()
	nc.Close()
	if d := time.Since(start); d > wsCloseGrace+time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case err := <-read:
		if err == nil {
			t.Error("a read after Close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the read")
	}
	if _, err := nc.Write([]byte("x")); err == nil {
		t.Error("a write after Close succeeded")
	}
}

// A WebSocket that does not take the subprotocol msrp, or an HTTP error,
// fails the MSRP connect.
func TestWSStreamRefused(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := quietTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/none" {
			ws, err := websocket.Accept(w, r, nil) // no subprotocol
			if err == nil {
				ws.CloseNow()
			}
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	first := msrp.URI{Secure: true, Host: "127.0.0.1", Port: port, SessionID: "s", Transport: "ws"}
	trust := &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	for path, want := range map[string]string{"/none": "subprotocol msrp", "/missing": "404"} {
		_, err := dialMSRPWebSocket(t.Context(), first, &url.URL{Scheme: "wss", Host: "h:1", Path: path}, time.Second, trust, 1<<20)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", path, err, want)
		}
	}
	_, err := dialMSRPWebSocket(t.Context(), first, &url.URL{Scheme: "wss", Host: "h:1", Path: "/"}, time.Second, nil, 1<<20)
	var cv *tls.CertificateVerificationError
	if !errors.As(err, &cv) {
		t.Errorf("system roots: %v, want a certificate verification error", err)
	}
}
