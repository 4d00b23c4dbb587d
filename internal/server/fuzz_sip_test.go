package server_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-im/parley/internal/server"
	"github.com/parley-im/parley/internal/servertest"
)

// sipFuzzHarness is one parleyd per fuzz process, with a checking peer
// that stays connected for the whole run.
type sipFuzzHarness struct {
	srv   *server.Server
	stop  func()
	check *servertest.SIP
	n     int

	client *tls.Config // over TLS: trusts the server's certificate
}

// sipFuzzMu serializes inputs: the harness is one server and one
// checking peer.
var sipFuzzMu sync.Mutex

func newSIPFuzzHarness(t *testing.T, transport string) *sipFuzzHarness {
	srv, err := server.NewLoopbackOnly(loopbackConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("starting parleyd: %v", err)
	}
	srv.Start()
	check, err := servertest.DialSIP(transport, sipAddr(srv, transport))
	if err != nil {
		t.Fatal(err)
	}
	return &sipFuzzHarness{srv: srv, check: check, stop: func() {
		check.Close()
		stopServer(srv)
	}}
}

// serves fails t unless the server answers a valid OPTIONS and, every
// 32nd input (and the first), admits a participant to a room and lets it
// leave: "no packet can stop parleyd". (A join per input would cost five
// times the input itself; a panic ends the process whatever input caused
// it, and a server that stops answering fails the next OPTIONS.)
func (h *sipFuzzHarness) serves(t *testing.T) {
	p := h.check
	if code, err := h.final(p.Build(servertest.Req{Method: "OPTIONS", URI: "sip:127.0.0.1"})); err != nil || code != 200 {
		t.Fatalf("OPTIONS after the input: %d %v\n%s", code, err, goroutines())
	}
	h.n++
	if h.n%32 != 1 {
		return
	}
	roomURI := "sip:check@127.0.0.1"
	callID := servertest.RandomToken()
	res, err := h.exchange(p.Build(servertest.Req{Method: "INVITE", URI: roomURI, CallID: callID, FromTag: "ft", CSeq: 1,
		Body: servertest.Offer(9, servertest.RandomToken())}))
	if code, _ := servertest.Status(res); err != nil || code != 200 {
		t.Fatalf("join after the input: %q %v\n%s", firstLine(res), err, goroutines())
	}
	_, tag, _ := strings.Cut(servertest.Header(res, "To"), ";tag=")
	tag, _, _ = strings.Cut(tag, ";")
	if err := p.Send(p.Build(servertest.Req{Method: "ACK", URI: roomURI, CallID: callID, FromTag: "ft", ToTag: tag, CSeq: 1})); err != nil {
		t.Fatal(err)
	}
	if code, err := h.final(p.Build(servertest.Req{Method: "BYE", URI: roomURI, CallID: callID, FromTag: "ft", ToTag: tag, CSeq: 2})); err != nil || code != 200 {
		t.Fatalf("leave after the input: %d %v\n%s", code, err, goroutines())
	}
}

func (h *sipFuzzHarness) final(req []byte) (int, error) {
	res, err := h.exchange(req)
	code, _ := servertest.Status(res)
	return code, err
}

func (h *sipFuzzHarness) exchange(req []byte) ([]byte, error) { return h.check.Exchange(req, wait) }

func stopServer(srv *server.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}

// FuzzSIPDatagram sends the input as one UDP datagram to an in-process
// parleyd, then checks that it still answers a valid OPTIONS, and admits
// and releases a participant. The corpus (testdata/fuzz/FuzzSIPDatagram)
// starts from the requests that stopped parleyd or got wrong answers
// before the SIP guard.
//
//	go test ./internal/server -run '^$' -fuzz FuzzSIPDatagram -parallel 1
func FuzzSIPDatagram(f *testing.F) {
	var h *sipFuzzHarness
	var sender *net.UDPConn
	f.Cleanup(func() {
		if h != nil {
			sender.Close()
			h.stop()
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		sipFuzzMu.Lock()
		defer sipFuzzMu.Unlock()
		if h == nil {
			h = newSIPFuzzHarness(t, "UDP")
			addr, _ := net.ResolveUDPAddr("udp", h.srv.Addrs().SIPUDP)
			var err error
			if sender, err = net.DialUDP("udp", nil, addr); err != nil {
				t.Fatal(err)
			}
		}
		if len(data) > 65000 {
			data = data[:65000]
		}
		sender.Write(data) // its answers are not read: the sender's buffer drops them
		h.serves(t)
	})
}

// FuzzSIPStream writes the input on a new SIP TCP connection to an
// in-process parleyd and closes it, then checks that the server still
// answers a valid OPTIONS on another connection, and admits and releases
// a participant over it. Its corpus adds the framing cases (Content-Length
// missing, not a number, too large).
//
//	go test ./internal/server -run '^$' -fuzz FuzzSIPStream -parallel 1
func FuzzSIPStream(f *testing.F) {
	var h *sipFuzzHarness
	f.Cleanup(func() {
		if h != nil {
			h.stop()
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		sipFuzzMu.Lock()
		defer sipFuzzMu.Unlock()
		if h == nil {
			h = newSIPFuzzHarness(t, "TCP")
		}
		c, err := net.Dial("tcp", h.srv.Addrs().SIPTCP)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		// Read what the server answers until it closes its side (it does
		// on the end of our stream), so the input is over before the check.
		c.SetReadDeadline(time.Now().Add(wait))
		_, err = io.Copy(io.Discard, c)
		c.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server did not close a connection whose peer had closed")
		}
		h.serves(t)
	})
}

// goroutines is every goroutine's stack, for a check that failed: where the
// server is stuck.
func goroutines() []byte {
	buf := make([]byte, 1<<20)
	return buf[:runtime.Stack(buf, true)]
}
