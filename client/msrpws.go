package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-im/parley/msrp"
)

// MSRP over a secure WebSocket (RFC 7977), used with Transport "ws".

// msrpSubprotocol is the WebSocket subprotocol of MSRP (RFC 7977 §4.1).
const msrpSubprotocol = "msrp"

// wsCloseGrace bounds the close handshake of an MSRP WebSocket: after it
// the TCP connection is closed whatever the switch does.
const wsCloseGrace = time.Second

// wsHeaderRoom is what a WebSocket message may hold beyond the largest
// chunk body we accept: the MSRP header section and end-line.
const wsHeaderRoom = 64 << 10

// dialMSRPWebSocket opens the WebSocket to the first URI of the focus's
// path, an msrps: ;ws URI (RFC 7977 §5.2.2): wss:// at its host and port
// (base's port when it has none) with base's path and query, the
// WebSocketURL SIP went to; the subprotocol msrp; TLS with cfg, the
// certificate verified for the URI's host unless cfg names a ServerName,
// as for msrps over TLS. The handshake and the upgrade are done within
// timeout. maxMessage bounds what one WebSocket message may hold (with
// room for the header). The returned net.Conn sends each Write as one
// WebSocket message and reads the WebSocket messages as one stream.
func dialMSRPWebSocket(ctx context.Context, first msrp.URI, base *url.URL, timeout time.Duration, cfg *tls.Config, maxMessage int64) (net.Conn, error) {
	host := strings.Trim(first.Host, "[]")
	port := base.Port()
	if first.Port != 0 {
		port = strconv.Itoa(first.Port)
	}
	u := *base
	u.Host = net.JoinHostPort(host, port)
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	raw := &rawConn{}
	tr := &http.Transport{
		// Our own TLS dial: HTTP/1.1 only (no ALPN, so no h2), and the TCP
		// connection kept for wsStream.Close.
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(nc, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				nc.Close()
				return nil, err
			}
			raw.set(tc)
			return tc, nil
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ws, res, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{
		HTTPClient:      &http.Client{Transport: tr},
		Subprotocols:    []string{msrpSubprotocol},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			err = fmt.Errorf("over WebSocket (%s): %s", u.String(), res.Status)
		} else {
			err = fmt.Errorf("over WebSocket (%s): %w", u.String(), err)
		}
		return nil, msrpDialError(ctx, first, err)
	}
	tc := raw.get()
	if got := ws.Subprotocol(); got != msrpSubprotocol || tc == nil {
		ws.CloseNow()
		return nil, fmt.Errorf("client: MSRP connect to %s: the WebSocket at %s did not take the subprotocol %s (got %q)", first.String(), u.String(), msrpSubprotocol, got)
	}
	ws.SetReadLimit(min(maxMessage, 1<<40) + wsHeaderRoom)
	return newWSStream(ws, tc), nil
}

// rawConn is the TLS connection an http.Transport dialed, handed over from
// its dialing goroutine.
type rawConn struct {
	mu sync.Mutex
	tc *tls.Conn
}

func (r *rawConn) set(tc *tls.Conn) {
	r.mu.Lock()
	r.tc = tc
	r.mu.Unlock()
}

func (r *rawConn) get() *tls.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tc
}

// wsStream is an MSRP WebSocket as the net.Conn msrpConn uses: Read yields
// the octets of one WebSocket message after the other (text and binary
// alike, RFC 7977 §4.2), as one MSRP stream; each Write is one binary
// WebSocket message, so msrpConn writes each MSRP message whole (its
// whole flag). Binary, because a chunk may end inside a UTF-8 character,
// which a text message must not (RFC 6455 §8.1).
type wsStream struct {
	ws     *websocket.Conn
	tc     *tls.Conn          // under ws: its addresses, and its TCP connection for Close
	ctx    context.Context    // every read and write; ended by Close
	cancel context.CancelFunc // ends ctx

	r io.Reader // the WebSocket message being read; the read goroutine's alone

	mu       sync.Mutex
	deadline time.Time // of writes (SetWriteDeadline)

	closeOnce sync.Once
}

func newWSStream(ws *websocket.Conn, tc *tls.Conn) *wsStream {
	c := &wsStream{ws: ws, tc: tc}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// Read returns octets of the current WebSocket message, reading the next
// one when it is through. The switch's close with 1000 (normal) or 1001
// (going away), or the connection's end, is io.EOF, as a TCP connection's
// FIN is; another close status is an error naming it.
func (c *wsStream) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			_, r, err := c.ws.Reader(c.ctx)
			if err != nil {
				return 0, wsReadError(err)
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r, err = nil, nil
		}
		if err != nil {
			return n, wsReadError(err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

func wsReadError(err error) error {
	switch s := websocket.CloseStatus(err); {
	case s == websocket.StatusNormalClosure, s == websocket.StatusGoingAway, s == -1 && errors.Is(err, io.EOF):
		return io.EOF
	case s != -1:
		return fmt.Errorf("the switch closed the WebSocket: %w", err)
	}
	return err
}

// Write sends p as one binary WebSocket message, within the write
// deadline. A write that fails or runs out of time closes the WebSocket.
func (c *wsStream) Write(p []byte) (int, error) {
	c.mu.Lock()
	dl := c.deadline
	c.mu.Unlock()
	ctx := c.ctx
	if !dl.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	if err := c.ws.Write(ctx, websocket.MessageBinary, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close closes the WebSocket with 1000 (normal closure), waiting up to
// wsCloseGrace for the switch's close frame; then, or if the handshake
// cannot be done, the TCP connection is closed (no TLS close_notify, which
// could block on a switch that does not read). Reads and writes in
// progress fail. Idempotent.
func (c *wsStream) Close() error {
	c.closeOnce.Do(func() {
		t := time.AfterFunc(wsCloseGrace, func() { c.tc.NetConn().Close() })
		c.ws.Close(websocket.StatusNormalClosure, "")
		t.Stop()
		c.cancel()
		c.tc.NetConn().Close()
	})
	return nil
}

func (c *wsStream) LocalAddr() net.Addr  { return c.tc.LocalAddr() }
func (c *wsStream) RemoteAddr() net.Addr { return c.tc.RemoteAddr() }

// SetDeadline sets the write deadline only: reads end with Close.
func (c *wsStream) SetDeadline(t time.Time) error { return c.SetWriteDeadline(t) }

// SetReadDeadline is not supported: reads end with Close.
func (c *wsStream) SetReadDeadline(time.Time) error {
	return errors.New("client: no read deadline on an MSRP WebSocket")
}

func (c *wsStream) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}
