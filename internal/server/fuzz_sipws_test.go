package server_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/coder/websocket"
	"github.com/parley-im/parley/internal/servertest"
)

// wsFuzzSeparator cuts a FuzzSIPWebSocket input into WebSocket messages.
var wsFuzzSeparator = []byte("\n--ws--\n")

// FuzzSIPWebSocket sends the input as SIP over a new WebSocket (RFC
// 7118) to an in-process parleyd's HTTPS port — cut at each "\n--ws--\n"
// into up to 16 messages, text or binary by the input's first octet's low
// bit — then an OPTIONS on the same connection (so that the input has
// been read when the check runs), closes it, and checks that the server
// still answers a valid OPTIONS over another WebSocket, and admits and
// releases a participant over it.
//
//	go test ./internal/server -run '^$' -fuzz FuzzSIPWebSocket -parallel 1
func FuzzSIPWebSocket(f *testing.F) {
	b := servertest.Builder("WSS", "fuzz.invalid")
	f.Add(append([]byte{0}, b.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"})...))
	f.Add(append([]byte{1}, b.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1", Drop: []string{"Call-ID"}})...))
	f.Add(bytes.Join([][]byte{{0}, []byte("\r\n\r\n"), b.Build(servertest.Req{Method: "INVITE", URI: "sip:fuzz@127.0.0.1", Body: "v=0\r\n"}),
		[]byte("SIP/2.0 200 OK\r\n\r\n"), {}}, wsFuzzSeparator))
	f.Add([]byte{0, 'x'})

	var h *sipFuzzHarness
	var dataDir string
	f.Cleanup(func() {
		if h != nil {
			h.stop()
		}
		if dataDir != "" {
			os.RemoveAll(dataDir)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		sipFuzzMu.Lock()
		defer sipFuzzMu.Unlock()
		if h == nil {
			var err error
			if dataDir, err = os.MkdirTemp("", "parley-fuzz-ws"); err != nil {
				t.Fatal(err)
			}
			cfg := loopbackConfig()
			cfg.HTTPS.Listen, cfg.Server.DataDir = "127.0.0.1:0", dataDir
			srv, client, err := launchTLS(cfg)
			if err != nil {
				if srv != nil {
					stopServer(srv)
				}
				t.Fatal(err)
			}
			h = &sipFuzzHarness{srv: srv, stop: func() { stopServer(srv) }}
			if h.check, err = servertest.DialSIPWS(wsURL(srv, "/"), client, nil); err != nil {
				t.Fatal(err)
			}
			check := h.check
			h.stop = func() { check.Close(); stopServer(srv) }
			h.client = client
		}
		if len(data) == 0 {
			return
		}

		typ := websocket.MessageText
		if data[0]&1 == 1 {
			typ = websocket.MessageBinary
		}
		p, err := servertest.DialSIPWS(wsURL(h.srv, "/"), h.client, nil)
		if err != nil {
			t.Fatalf("WebSocket for the input: %v", err)
		}
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		for i, m := range bytes.SplitN(data[1:], wsFuzzSeparator, 16) {
			if err := p.WS().Write(ctx, typ, m); err != nil {
				if i == 0 {
					t.Fatalf("writing the input: %v", err)
				}
				break // the server closed the connection (1009, say)
			}
		}
		// The connection may have been closed by the input; if not, its
		// answer to this OPTIONS says the input was read.
		p.Exchange(p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"}), wait)
		h.serves(t)
	})
}
