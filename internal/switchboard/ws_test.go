//go:build unix

package switchboard

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-im/parley/internal/certs"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// wsListeners holds the HTTP listeners withWS made, by port, until
// newHarness serves them with its relay's ServeWebSocket.
var wsListeners sync.Map // int → wsListener

type wsListener struct {
	ln  net.Listener
	all bool
	tls *tls.Config // wss: the server's configuration (withWSS); nil for ws
}

// withWS gives the relay a WebSocket listener (plain ws, RFC 7977). With
// all, the harness's participants join with ;ws URIs over WebSocket
// (join); otherwise only those of joinUnboundWS do.
func withWS(t testing.TB, all bool) harnessOption {
	ln, err := net.Listen("tcp", testHost+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	wsListeners.Store(port, wsListener{ln: ln, all: all})
	return func(rc *relay.Config, _ *Config) { rc.WSPort = port }
}

// withWSS is withWS(t, true) over HTTPS (wss), served as the server's
// HTTPS listener serves it (internal/server, https.go): a self-signed
// certificate, ALPN http/1.1 only, the relay's ServeWebSocket behind
// net/http over a tls.Listener. The participants join with msrps ;ws URIs.
func withWSS(t testing.TB) harnessOption {
	st, _, err := certs.SelfSigned(t.TempDir(), []string{testHost}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", testHost+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	wsListeners.Store(port, wsListener{ln: ln, all: true, tls: st.ServerConfig("http/1.1")})
	return func(rc *relay.Config, _ *Config) { rc.WSPort, rc.WSSecure = port, true }
}

// serveWS serves the listener withWS made for h's relay.
func (h *harness) serveWS(port int) {
	v, ok := wsListeners.LoadAndDelete(port)
	if !ok {
		return
	}
	wl := v.(wsListener)
	ln := wl.ln
	h.allWS = wl.all
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.relay.ServeWebSocket(w, r) })}
	h.ws = "ws://" + ln.Addr().String() + "/"
	if wl.tls != nil {
		hs.TLSConfig = wl.tls
		hs.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){} // no HTTP/2
		ln = tls.NewListener(ln, wl.tls)
		h.ws = "wss://" + wl.ln.Addr().String() + "/"
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	h.t.Cleanup(func() {
		hs.Close()
		<-done
	})
}

// dialWS opens a WebSocket to the harness's relay with subprotocol msrp.
func (h *harness) dialWS() *websocket.Conn {
	h.t.Helper()
	ws, _, err := websocket.Dial(context.Background(), h.ws, &websocket.DialOptions{Subprotocols: []string{relay.Subprotocol}})
	if err != nil {
		h.t.Fatalf("dial WS: %v", err)
	}
	ws.SetReadLimit(-1)
	return ws
}

// wsSelf is a browser's MSRP URI (RFC 7977 §5.2.2: an .invalid host).
func wsSelf() msrp.URI {
	return msrp.URI{Host: "p" + msrp.NewSessionID() + ".invalid", SessionID: msrp.NewSessionID(), Transport: "ws"}
}

// wsSelf is the package's wsSelf for h's WebSocket listener: msrps when
// it is wss (RFC 7977 §5.2: the session then binds only over WSS).
func (h *harness) wsSelf() msrp.URI {
	u := wsSelf()
	u.Secure = strings.HasPrefix(h.ws, "wss:")
	return u
}

// nextWS reads one WebSocket message, which must hold exactly one MSRP
// message, and returns it with the message's size.
func nextWS(t testing.TB, ws *websocket.Conn) (*msrp.Message, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, data, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("WS read: %v", err)
	}
	r := msrp.NewReader(bytes.NewReader(data), msrp.Limits{})
	m, err := r.ReadMessage()
	if err != nil {
		t.Fatalf("WS message of %d octets: %v", len(data), err)
	}
	m = m.Clone()
	if _, err := r.ReadMessage(); err != io.EOF {
		t.Fatalf("WS message of %d octets holds more than one MSRP message (%v)", len(data), err)
	}
	return m, len(data)
}

// A 6,000-octet message from a TCP sender reaches a WebSocket recipient as
// chunks of at most relay.WSMaxChunk octets, each in one WebSocket message,
// numbered and flagged so that they reassemble to the message (RFC 7977,
// issue 15); a TCP recipient in the same room gets it whole, as before.
func TestWSRecipientGetsRechunkedCopy(t *testing.T) {
	h := newHarness(t, defaultPolicy(), withWS(t, false))
	a := h.join("wsroom", "sip:a@example.com")
	c := h.join("wsroom", "sip:c@example.com")
	b := h.joinUnboundWS("wsroom", "sip:b@example.com")
	ws := h.bindWS(b)

	text := string(bytes.Repeat([]byte("0123456789abcdef"), 6000/16)) // with the CPIM headers, over 6,000 octets
	body := cpimMsg("sip:a@example.com", roomURI("wsroom"), text)
	for _, chunked := range []bool{false, true} {
		if !chunked {
			m := a.say(body) // one chunk of it all
			a.ExpectResponse(m.TID, msrp.StatusOK)
		} else {
			// The same message in two chunks from the sender (a transfer).
			half := len(body) / 2
			m1 := msrptest.Send(a.sw, a.self, "message/cpim", body[:half], withRange(byteRange(1, half, len(body))), msrptest.WithFlag(msrp.FlagContinue))
			a.Send(m1)
			a.ExpectResponse(m1.TID, msrp.StatusOK)
			m2 := msrptest.Send(a.sw, a.self, "message/cpim", body[half:], withMessageID(m1.MessageID()), withRange(byteRange(half+1, len(body), len(body))))
			a.Send(m2)
			a.ExpectResponse(m2.TID, msrp.StatusOK)
		}
		// The TCP recipient: the copy as before (whole, or as sent).
		var got []byte
		for len(got) < len(body) {
			got = append(got, c.ExpectRequest(msrp.MethodSEND).Body...)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("TCP copy differs (chunked %v)", chunked)
		}
		// The WebSocket recipient: pieces of at most WSMaxChunk.
		var re []byte
		mid := ""
		for n := 0; ; n++ {
			m, _ := nextWS(t, ws)
			if m.Method != msrp.MethodSEND {
				t.Fatalf("got %s, want a SEND", m.Method)
			}
			if len(m.Body) > relay.WSMaxChunk {
				t.Fatalf("chunk %d has %d octets, over %d", n, len(m.Body), relay.WSMaxChunk)
			}
			if mid == "" {
				mid = m.MessageID()
			} else if m.MessageID() != mid {
				t.Fatalf("chunk %d of another message %q", n, m.MessageID())
			}
			br, ok, err := m.ByteRange()
			if !ok || err != nil {
				t.Fatalf("chunk %d: Byte-Range %v %v", n, ok, err)
			}
			if br.Start != int64(len(re))+1 || br.End != br.Start-1+int64(len(m.Body)) || br.Total != int64(len(body)) {
				t.Fatalf("chunk %d: Byte-Range %+v after %d octets of %d", n, br, len(re), len(body))
			}
			if err := m.Validate(); err != nil {
				t.Fatalf("chunk %d: %v", n, err)
			}
			re = append(re, m.Body...)
			if m.EndFlag() == msrp.FlagEnd {
				if len(re) != len(body) || n < 2 {
					t.Fatalf("'$' after %d octets in %d chunks, want %d in 3 or more", len(re), n+1, len(body))
				}
				break
			}
			if m.EndFlag() != msrp.FlagContinue || len(re) >= len(body) {
				t.Fatalf("chunk %d: flag %c after %d octets", n, m.EndFlag(), len(re))
			}
		}
		if !bytes.Equal(re, body) {
			t.Fatalf("WebSocket chunks reassemble to something else (chunked %v)", chunked)
		}
	}
}

// bindWS binds pt's session over a new WebSocket connection (a bodiless
// SEND, RFC 4975 §5.4) and returns the connection, closed with the test.
func (h *harness) bindWS(pt *party) *websocket.Conn {
	h.t.Helper()
	ws := h.dialWS()
	h.t.Cleanup(func() { ws.CloseNow() })
	bl := msrptest.Bodiless(pt.sw, pt.self)
	writeWS(h.t, ws, bl.AppendTo(nil))
	if m, _ := nextWS(h.t, ws); m.TID != bl.TID || m.Code != msrp.StatusOK {
		h.t.Fatalf("bind: got %s %d", m.TID, m.Code)
	}
	return ws
}

func writeWS(t testing.TB, ws *websocket.Conn, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageBinary, b); err != nil {
		t.Fatalf("WS write: %v", err)
	}
}

// joinUnboundWS is joinUnbound for a participant over WebSocket: its
// session is a ;ws one (bind it with a bodiless SEND over h.dialWS, or bind).
func (h *harness) joinUnboundWS(roomName, uri string, opts ...partyOption) *party {
	h.t.Helper()
	return h.joinSelf(roomName, uri, wsSelf(), opts...)
}

// netConnWS is a WebSocket to the relay as a net.Conn: each Write one
// binary message, reads across messages (for msrptest.Peer and the
// benchmark's participants, which write one MSRP message per Write). It
// is wsFrameConn, the harness's own framing, not coder/websocket's.
func (h *harness) netConnWS() net.Conn {
	h.t.Helper()
	c, err := dialWSFrames(h.ws)
	if err != nil {
		h.t.Fatalf("dial WS: %v", err)
	}
	return c
}

func withMessageID(id string) msrptest.Option {
	return func(m *msrp.Message) { m.Header.Set(msrp.HeaderMessageID, id) }
}

// BenchmarkFanoutWS is BenchmarkFanout with every participant on MSRP over
// WebSocket (plain ws: what is measured is the framing; issue 15's target
// is WSS ≥ 50 % of the TCP deliveries/s). The cpu-µs/1k-deliveries metric
// is the whole process, the participants' WebSocket reading included: they
// read raw frames (wsFrameConn), which costs them about what reading TCP
// does.
func BenchmarkFanoutWS(b *testing.B) {
	runFanout(b, fanoutConfig{participants: 100, senders: 10, opts: []harnessOption{withWS(b, true)}})
}

// BenchmarkFanoutWSS is BenchmarkFanoutWS over HTTPS (wss), the relay
// behind TLS as the server's HTTPS listener runs it (issue 15's target:
// ≥ 50 % of BenchmarkFanout's deliveries/s). The metric includes the
// participants' own TLS, as BenchmarkFanoutTLS's does.
func BenchmarkFanoutWSS(b *testing.B) {
	runFanout(b, fanoutConfig{participants: 100, senders: 10, opts: []harnessOption{withWSS(b)}})
}

// wsFrameConn is a WebSocket client connection that speaks the frames
// itself (RFC 6455 §5): the harness's WebSocket participants, and so the
// WebSocket fan-out benchmarks' receivers, which must cost about what a
// TCP receiver costs for the figures to measure the relay. coder/websocket
// through websocket.NetConn spent about 64 % of BenchmarkFanoutWS's CPU
// (a timer set up and stopped, and mutexes, per message: issue 15).
//
// Read returns the payloads of the relay's frames back to back, as a TCP
// connection returns its stream, deframing as many frames per call as the
// buffer holds. Every frame is checked to hold exactly one MSRP message
// (RFC 7977 §4.2): a final, unmasked binary frame whose payload starts
// with "MSRP " and a transaction id and ends with that transaction's
// end-line; anything else fails the Read. A close frame is io.EOF. Each
// Write is one masked binary frame (§5.3: client frames are masked).
type wsFrameConn struct {
	net.Conn // TCP, or TLS for wss

	// Read side: one reader at a time.
	raw        []byte // octets read from Conn; raw[roff:rend] not yet deframed
	roff, rend int
	left       int      // payload octets of the current frame still to come
	got        int      // payload octets of the current frame so far
	head       [40]byte // the first octets of the current frame's payload
	tail       [48]byte // the last octets of the current frame's payload so far
	frames     int64    // data frames read whole
	rerr       error    // the error that ended Conn's stream, returned once raw is drained

	// Write side.
	wmu  sync.Mutex
	wbuf []byte
	mask [4]byte
}

// wsGUID is the key suffix of RFC 6455 §1.3.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// dialWSFrames opens a WebSocket to url (ws:// or wss://; the wss
// certificate is not checked, as for the harness's TLS participants)
// with subprotocol msrp.
func dialWSFrames(url string) (*wsFrameConn, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: waitTimeout}
	var nc net.Conn
	switch u.Scheme {
	case "ws":
		nc, err = d.Dial("tcp", u.Host)
	case "wss":
		nc, err = tls.DialWithDialer(d, "tcp", u.Host, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	default:
		return nil, fmt.Errorf("not a WebSocket URL: %s", url)
	}
	if err != nil {
		return nil, err
	}
	c := &wsFrameConn{Conn: nc, raw: make([]byte, fanReadSize)}
	if err := c.handshake(u); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// handshake is the opening handshake of RFC 6455 §4.1.
func (c *wsFrameConn) handshake(u *neturl.URL) error {
	var key [16]byte
	rand.Read(key[:])
	rand.Read(c.mask[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	c.SetDeadline(time.Now().Add(waitTimeout))
	defer c.SetDeadline(time.Time{})
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + k +
		"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " + relay.Subprotocol + "\r\n\r\n"
	if _, err := io.WriteString(c.Conn, req); err != nil {
		return err
	}
	br := bufio.NewReader(c.Conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	sum := sha1.Sum([]byte(k + wsGUID))
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		return fmt.Errorf("upgrade answered %s", resp.Status)
	case resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]):
		return errors.New("upgrade: wrong Sec-WebSocket-Accept")
	case resp.Header.Get("Sec-WebSocket-Protocol") != relay.Subprotocol:
		return fmt.Errorf("upgrade: subprotocol %q", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	// Whatever came after the response is the first frames'.
	c.rend, _ = br.Read(c.raw[:br.Buffered()])
	return nil
}

// Read returns the payload octets of as many frames as p takes, waiting
// for input only when no payload is buffered.
func (c *wsFrameConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := c.deframe(p)
		if n > 0 || err != nil {
			return n, err
		}
		if c.rerr != nil {
			if c.roff != c.rend || c.left > 0 {
				return 0, fmt.Errorf("WebSocket stream ended inside a frame: %w", c.rerr)
			}
			return 0, c.rerr
		}
		if c.roff > 0 { // keep a partial header at the front
			c.rend = copy(c.raw, c.raw[c.roff:c.rend])
			c.roff = 0
		}
		m, err := c.Conn.Read(c.raw[c.rend:])
		c.rend += m
		if err != nil {
			c.rerr = err
		}
	}
}

// deframe moves the payload octets of the buffered frames into p, up to
// the first frame header not wholly buffered.
func (c *wsFrameConn) deframe(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.left == 0 {
			hl, size, err := c.header(c.raw[c.roff:c.rend])
			if err != nil || hl == 0 {
				return n, err
			}
			c.roff += hl
			if size <= len(p)-n && size <= c.rend-c.roff {
				// The whole frame is buffered and fits: checked where it is.
				f := c.raw[c.roff : c.roff+size]
				if err := c.check(f[:min(size, len(c.head))], f[max(0, size-len(c.tail)):], size); err != nil {
					return n, err
				}
				n += copy(p[n:], f)
				c.roff += size
				c.frames++
				continue
			}
			c.left, c.got = size, 0
		}
		k := min(c.left, len(p)-n, c.rend-c.roff)
		if k == 0 {
			break
		}
		q := p[n : n+k]
		copy(q, c.raw[c.roff:c.roff+k])
		c.track(q)
		n += k
		c.roff += k
		c.left -= k
		if c.left == 0 {
			if err := c.check(c.head[:min(c.got, len(c.head))], c.tail[:], c.got); err != nil {
				return n, err
			}
			c.frames++
		}
	}
	return n, nil
}

// header parses the frame header at the start of b: its length (0: not
// all of it is buffered yet) and the payload's. Only final, unmasked,
// non-empty binary frames carry data; a close frame is io.EOF.
func (c *wsFrameConn) header(b []byte) (hl, size int, err error) {
	if len(b) < 2 {
		return 0, 0, nil
	}
	if b[1]&0x80 != 0 {
		return 0, 0, errors.New("a server frame is masked (RFC 6455 §5.1)")
	}
	hl, size = 2, int(b[1]&0x7F)
	switch size {
	case 126:
		if len(b) < 4 {
			return 0, 0, nil
		}
		hl, size = 4, int(binary.BigEndian.Uint16(b[2:]))
	case 127:
		if len(b) < 10 {
			return 0, 0, nil
		}
		hl, size = 10, int(binary.BigEndian.Uint64(b[2:]))
	}
	switch {
	case b[0] == 0x88:
		return 0, 0, io.EOF
	case b[0] != 0x82:
		return 0, 0, fmt.Errorf("frame 0x%02x, want a final binary frame (0x82)", b[0])
	case size == 0:
		return 0, 0, errors.New("an empty frame holds no MSRP message")
	}
	return hl, size, nil
}

// track keeps the first and the last octets of the current frame's
// payload, q its next part (a frame read in parts).
func (c *wsFrameConn) track(q []byte) {
	if c.got < len(c.head) {
		copy(c.head[c.got:], q)
	}
	c.got += len(q)
	if len(q) >= len(c.tail) {
		copy(c.tail[:], q[len(q)-len(c.tail):])
		return
	}
	copy(c.tail[:], c.tail[len(q):])
	copy(c.tail[len(c.tail)-len(q):], q)
}

// check verifies that a frame of size octets, head its first octets and
// tail its last, holds exactly one MSRP message: it starts with a start
// line ("MSRP " tid " ") and ends with the end-line of the same
// transaction ("\r\n-------" tid flag "\r\n", RFC 4975 §7.1), so that no
// other message can begin or end inside it.
func (c *wsFrameConn) check(head, tail []byte, size int) error {
	rest, ok := bytes.CutPrefix(head, []byte("MSRP "))
	sp := bytes.IndexByte(rest, ' ')
	if !ok || sp < 1 {
		return fmt.Errorf("frame %d does not start with an MSRP start line: %q", c.frames, head)
	}
	tid := rest[:sp]
	end := len(fanEndMark) + len(tid) + 3
	if size < end || len(tail) < end {
		return fmt.Errorf("frame %d of %d octets ends without an end-line", c.frames, size)
	}
	e := tail[len(tail)-end:]
	switch f := e[end-3]; {
	case !bytes.Equal(e[:len(fanEndMark)], fanEndMark), !bytes.Equal(e[len(fanEndMark):len(fanEndMark)+len(tid)], tid),
		f != msrp.FlagEnd && f != msrp.FlagContinue && f != msrp.FlagAbort, e[end-2] != '\r', e[end-1] != '\n':
		return fmt.Errorf("frame %d (transaction %s) does not end with its end-line: %q", c.frames, tid, e)
	}
	return nil
}

// Write sends p as one masked binary frame.
func (c *wsFrameConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := c.wbuf[:0]
	switch n := len(p); {
	case n <= 125:
		b = append(b, 0x82, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x82, 0x80|126, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x82, 0x80|127), uint64(n))
	}
	b = append(b, c.mask[:]...)
	hl := len(b)
	b = append(b, p...)
	for i := range p {
		b[hl+i] ^= c.mask[i&3]
	}
	c.wbuf = b
	if _, err := c.Conn.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

// A room over WSS relays like one over TCP, through the harness's own
// WebSocket framing (wsFrameConn): the sessions are msrps ;ws ones, bound
// over HTTPS.
func TestFanoutOverWSS(t *testing.T) {
	h := newHarness(t, defaultPolicy(), withWSS(t))
	a := h.join("wssroom", "sip:a@example.com")
	b := h.join("wssroom", "sip:b@example.com")
	c := h.join("wssroom", "sip:c@example.com")
	if !a.sw.Secure || a.sw.Transport != "ws" || !a.self.Secure {
		t.Fatalf("switch URI %s, participant %s: want msrps ;ws", a.sw, a.self)
	}
	if _, ok := a.Conn().(*wsFrameConn).Conn.(*tls.Conn); !ok {
		t.Fatal("the participant's WebSocket is not over TLS")
	}
	body := cpimMsg("sip:a@example.com", "sip:wssroom@"+testHost, "hello over WSS")
	m := a.say(body)
	a.ExpectResponse(m.TID, 200)
	b.expectCopy(body)
	c.expectCopy(body)
}

// wsFrameConn deframes a stream of frames cut at any point into their
// payloads back to back, and refuses a frame that does not hold exactly
// one MSRP message.
func TestWSFrameConn(t *testing.T) {
	copies := fanCopies(300)
	var msgs [][]byte // one MSRP message each
	for len(copies) > 0 {
		i := bytes.Index(copies, []byte("$\r\n")) + 3
		msgs, copies = append(msgs, copies[:i]), copies[i:]
	}
	frame := func(payloads ...[]byte) []byte {
		var b []byte
		for _, p := range payloads {
			b = append(appendFrameHeader(b, len(p)), p...)
		}
		return b
	}
	var want, stream []byte
	for _, m := range msgs {
		want = append(want, m...)
		stream = append(stream, frame(m)...)
	}
	read := func(stream []byte, step int) ([]byte, int64, error) {
		c := &wsFrameConn{Conn: &chopConn{data: stream, step: step}, raw: make([]byte, 1024)}
		var got []byte
		buf := make([]byte, 700)
		for {
			n, err := c.Read(buf[:1+(len(got)*13)%len(buf)])
			got = append(got, buf[:n]...)
			if err != nil {
				return got, c.frames, err
			}
		}
	}
	for _, step := range []int{1, 7, 100, 1000, 1 << 20} {
		got, frames, err := read(stream, step)
		if err != io.EOF || !bytes.Equal(got, want) || frames != int64(len(msgs)) {
			t.Fatalf("step %d: %d of %d octets, %d frames of %d, %v", step, len(got), len(want), frames, len(msgs), err)
		}
	}
	// A close frame ends the stream.
	if _, _, err := read(append(frame(msgs[0]), 0x88, 2, 3, 0xE8), 5); err != io.EOF {
		t.Fatalf("close frame: %v, want EOF", err)
	}
	for name, bad := range map[string][]byte{
		"two messages":  frame(append(append([]byte(nil), msgs[0]...), msgs[1]...)),
		"half":          frame(msgs[0][:len(msgs[0])/2]),
		"no start line": frame(msgs[0][3:]),
		"text frame":    append([]byte{0x81, byte(len(msgs[1]))}, msgs[1]...),
		"masked":        append([]byte{0x82, 0x80 | byte(len(msgs[1])), 0, 0, 0, 0}, msgs[1]...),
	} {
		for _, step := range []int{3, 1 << 20} { // frames read in parts, and whole
			got, _, err := read(append(frame(msgs[0]), bad...), step)
			if err == nil || err == io.EOF || !bytes.HasPrefix(got, msgs[0]) {
				t.Errorf("%s, step %d: %v after %d octets, want an error after the first message", name, step, err, len(got))
			}
		}
	}
	// Writes are masked frames.
	var out bytes.Buffer
	w := &wsFrameConn{Conn: &chopConn{out: &out}, mask: [4]byte{1, 2, 3, 4}}
	for _, n := range []int{5, 300, 70000} {
		out.Reset()
		p := bytes.Repeat([]byte{0xAA}, n)
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		b := out.Bytes()
		hl := map[int]int{5: 2, 300: 4, 70000: 10}[n]
		if b[0] != 0x82 || b[1]&0x80 == 0 || len(b) != hl+4+n || !bytes.Equal(b[hl:hl+4], w.mask[:]) || b[hl+4+1] != 0xAA^2 {
			t.Fatalf("frame of %d octets: % x…", n, b[:min(len(b), 16)])
		}
	}
}

// appendFrameHeader appends a server frame's header (final, binary,
// unmasked) for a payload of n octets.
func appendFrameHeader(b []byte, n int) []byte {
	switch {
	case n <= 125:
		return append(b, 0x82, byte(n))
	case n <= 0xFFFF:
		return append(b, 0x82, 126, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0x82, 127), uint64(n))
}

// chopConn reads data at most step octets at a time, then io.EOF, and
// writes to out.
type chopConn struct {
	net.Conn
	data []byte
	step int
	out  *bytes.Buffer
}

func (c *chopConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.step)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func (c *chopConn) Write(p []byte) (int, error) { return c.out.Write(p) }

// A chunked message whose last chunk has an empty body (a sender that
// ends with an empty '$' chunk) reaches a WebSocket recipient one chunk
// per WebSocket message, the empty one too (RFC 7977 §4.2): an empty body
// must not end the relay's unit early.
func TestWSRecipientEmptyLastChunk(t *testing.T) {
	h := newHarness(t, defaultPolicy(), withWS(t, false))
	a := h.join("wsroom", "sip:a@example.com")
	b := h.joinUnboundWS("wsroom", "sip:b@example.com")
	ws := h.bindWS(b)

	body := cpimMsg("sip:a@example.com", roomURI("wsroom"), "all of it in the first chunk")
	n := len(body)
	m1 := msrptest.Send(a.sw, a.self, "message/cpim", body, withRange("1-"+strconv.Itoa(n)+"/*"), msrptest.WithFlag(msrp.FlagContinue))
	a.Send(m1)
	a.ExpectResponse(m1.TID, msrp.StatusOK)
	m2 := msrptest.Send(a.sw, a.self, "message/cpim", nil, withMessageID(m1.MessageID()), withRange(strconv.Itoa(n+1)+"-"+strconv.Itoa(n)+"/"+strconv.Itoa(n)))
	a.Send(m2)
	a.ExpectResponse(m2.TID, msrp.StatusOK)

	var re []byte
	mid := ""
	for k := 0; ; k++ {
		m, _ := nextWS(t, ws) // fails unless the WebSocket message is one whole MSRP message
		if mid == "" {
			mid = m.MessageID()
		}
		if m.Method != msrp.MethodSEND || m.MessageID() != mid {
			t.Fatalf("got %s of %q, want a SEND of %q", m.Method, m.MessageID(), mid)
		}
		re = append(re, m.Body...)
		if m.EndFlag() == msrp.FlagEnd {
			break
		}
		if k > 4 {
			t.Fatal("no '$' chunk")
		}
	}
	if !bytes.Equal(re, body) {
		t.Fatalf("the chunks reassemble to %q, want %q", re, body)
	}
}
