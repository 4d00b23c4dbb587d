package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The lean SIP path: one user agent for the whole run, with the dialog
// layer written out by hand: INVITE → 1xx/2xx → ACK, BYE → 200, and a 200
// to the focus's own BYEs. It costs one map entry per dialog, where a
// client.Session costs a sipgo user agent, a listener and goroutines. Over
// TCP each participant has its own SIP connection by default, as real
// clients do (issue 20: the server's cost per member includes it);
// -sip-conns N shares N connections among them instead. Over UDP there is
// one socket.

// sipUA is the lean SIP user agent shared by every participant of a run.
type sipUA struct {
	transport string // "TCP", "TLS" or "UDP"
	server    string // host:port of parleyd's SIP listener
	timeout   time.Duration
	perDialog bool // a connection of its own per dialog (TCP, -sip-conns 0)
	connMu    sync.Mutex
	conns     []*sipConn // the shared ones; with perDialog every one, for close
	next      atomic.Uint32

	mu      sync.Mutex
	waiters map[string]chan *sipMsg // branch of a pending request → its responses
	dialogs map[string]*leanDialog  // Call-ID → dialog, for re-sent 2xx and the focus's BYE

	focusByes atomic.Int64 // BYEs received from the focus
	err       atomic.Pointer[error]
	wg        sync.WaitGroup
	closing   atomic.Bool
}

// sipConn is one socket of the user agent.
type sipConn struct {
	ua    *sipUA
	nc    net.Conn
	local string // our host:port on it: Via and Contact
	wmu   sync.Mutex
	own   bool        // one dialog's own connection (perDialog)
	done  atomic.Bool // closed on purpose: its reader's error is no failure
}

// leanDialog is one participant's INVITE dialog.
type leanDialog struct {
	conn    *sipConn
	room    string // request URI of the INVITE, To URI
	from    string // our AOR
	callID  string
	fromTag string
	toTag   string
	target  string // the focus's Contact URI: request URI of ACK and BYE
	ack     []byte // the ACK of the 2xx, sent again if the 2xx is
	ended   atomic.Bool
}

// T1 of RFC 3261 §17: UDP retransmissions start at T1 and double, up to T2
// for non-INVITE requests.
const (
	sipT1 = 500 * time.Millisecond
	sipT2 = 4 * time.Second
)

// newSIPUA opens n sockets to server ("udp" opens one whatever n says);
// n = 0 over TCP opens none: each dialog dials its own.
func newSIPUA(ctx context.Context, transport, server string, n int, timeout time.Duration) (*sipUA, error) {
	ua := &sipUA{transport: strings.ToUpper(transport), server: server, timeout: timeout,
		waiters: make(map[string]chan *sipMsg), dialogs: make(map[string]*leanDialog)}
	if ua.transport == "UDP" {
		n = 1
	}
	ua.perDialog = n == 0
	for range n {
		if _, err := ua.dial(ctx, false); err != nil {
			ua.close()
			return nil, err
		}
	}
	return ua, nil
}

// dial opens a socket to the server and starts its reader.
func (ua *sipUA) dial(ctx context.Context, own bool) (*sipConn, error) {
	var d net.Dialer
	network := "tcp"
	if ua.transport == "UDP" {
		network = "udp"
	}
	nc, err := d.DialContext(ctx, network, ua.server)
	if err != nil {
		return nil, fmt.Errorf("SIP %s connect to %s: %w", ua.transport, ua.server, err)
	}
	if ua.transport == "TLS" {
		// parleyd's own certificate is self-signed by default: what is
		// measured is the server's cost per TLS connection, not trust.
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
		hctx, cancel := context.WithTimeout(ctx, ua.timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("SIP TLS handshake with %s: %w", ua.server, err)
		}
		nc = tc
	}
	if uc, ok := nc.(*net.UDPConn); ok {
		_ = uc.SetReadBuffer(4 << 20) // a burst of 200s from the focus
		_ = uc.SetWriteBuffer(4 << 20)
	}
	c := &sipConn{ua: ua, nc: nc, local: nc.LocalAddr().String(), own: own}
	ua.connMu.Lock()
	if ua.closing.Load() {
		ua.connMu.Unlock()
		nc.Close()
		return nil, errors.New("SIP: the run is over")
	}
	ua.conns = append(ua.conns, c)
	ua.wg.Add(1)
	ua.connMu.Unlock()
	go c.readLoop()
	return c, nil
}

// close closes the sockets and waits for their readers.
func (ua *sipUA) close() {
	ua.connMu.Lock()
	ua.closing.Store(true)
	conns := ua.conns
	ua.connMu.Unlock()
	for _, c := range conns {
		c.nc.Close()
	}
	ua.wg.Wait()
}

// hangUp closes a dialog's own connection once the dialog is over.
func (ua *sipUA) hangUp(c *sipConn) {
	if c.own && c.done.CompareAndSwap(false, true) {
		c.nc.Close()
	}
}

func (c *sipConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.ua.timeout))
	_, err := c.nc.Write(b)
	return err
}

// readLoop hands responses to their waiters and answers the focus's requests.
func (c *sipConn) readLoop() {
	defer c.ua.wg.Done()
	var (
		br  *bufio.Reader
		buf []byte
	)
	if c.ua.transport != "UDP" { // a stream
		size := 64 << 10 // shared by many dialogs
		if c.own {
			size = 4 << 10 // lines are short; bodies are read whole whatever the size
		}
		br = bufio.NewReaderSize(c.nc, size)
	} else {
		buf = make([]byte, 65536)
	}
	for {
		var (
			m   *sipMsg
			err error
		)
		if br != nil {
			m, err = readSIPStream(br)
		} else {
			var n int
			n, err = c.nc.Read(buf)
			if err == nil {
				m, err = parseSIPDatagram(buf[:n])
				if err != nil {
					continue // a datagram we cannot parse: ignore it
				}
			}
		}
		if err != nil {
			if !c.ua.closing.Load() && !c.done.Load() {
				c.ua.fail(fmt.Errorf("SIP connection %s: %w", c.local, err))
			}
			return
		}
		if m.request {
			c.handleRequest(m)
		} else {
			c.ua.dispatch(m)
		}
	}
}

// fail records the first error of a SIP socket for the run's report.
func (ua *sipUA) fail(err error) { ua.err.CompareAndSwap(nil, &err) }

// dispatch hands a response to its transaction's waiter; a 2xx to an INVITE
// that nobody waits for any more is a retransmission: ACK it again.
func (ua *sipUA) dispatch(m *sipMsg) {
	ua.mu.Lock()
	ch := ua.waiters[m.branch()]
	d := ua.dialogs[m.get("call-id")]
	ua.mu.Unlock()
	if ch != nil {
		select {
		case ch <- m:
		default: // the waiter has enough; a retransmission
		}
		return
	}
	if m.method == "INVITE" && m.code/100 == 2 && d != nil && d.ack != nil {
		_ = d.conn.write(d.ack)
	}
}

// handleRequest answers the focus: 200 to BYE (the dialog ends), 200 to
// OPTIONS, 481 to anything else (we hold no subscription), nothing to ACK.
func (c *sipConn) handleRequest(m *sipMsg) {
	switch m.method {
	case "ACK":
		return
	case "BYE":
		c.ua.mu.Lock()
		d := c.ua.dialogs[m.get("call-id")]
		c.ua.mu.Unlock()
		if d != nil {
			d.ended.Store(true)
			c.ua.focusByes.Add(1)
			_ = c.write(m.response(200, "OK", ""))
			return
		}
		_ = c.write(m.response(481, "Call/Transaction Does Not Exist", ""))
	case "OPTIONS":
		_ = c.write(m.response(200, "OK", randHex(8)))
	default:
		_ = c.write(m.response(481, "Call/Transaction Does Not Exist", randHex(8)))
	}
}

// randHex returns n random bytes in hex.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// conn picks the socket for a new dialog: a new one of its own, or the
// shared ones round robin.
func (ua *sipUA) conn(ctx context.Context) (*sipConn, error) {
	if ua.perDialog {
		return ua.dial(ctx, true)
	}
	return ua.conns[int(ua.next.Add(1)-1)%len(ua.conns)], nil
}

// transact sends a request built for a fresh branch and waits for its
// final response, retransmitting over UDP (RFC 3261 §17.1.1.2, §17.1.2.2).
func (ua *sipUA) transact(ctx context.Context, c *sipConn, invite bool, build func(branch string) []byte) (*sipMsg, error) {
	branch := "z9hG4bK" + randHex(10)
	ch := make(chan *sipMsg, 4)
	ua.mu.Lock()
	ua.waiters[branch] = ch
	ua.mu.Unlock()
	defer func() {
		ua.mu.Lock()
		delete(ua.waiters, branch)
		ua.mu.Unlock()
	}()
	req := build(branch)
	if err := c.write(req); err != nil {
		return nil, err
	}
	deadline := time.NewTimer(ua.timeout)
	defer deadline.Stop()
	var retrans <-chan time.Time
	interval := sipT1
	if ua.transport == "UDP" {
		t := time.NewTimer(interval)
		defer t.Stop()
		retrans = t.C
		for {
			select {
			case m := <-ch:
				if m.code < 200 {
					if invite {
						t.Stop() // a provisional response stops INVITE retransmissions
					}
					continue
				}
				return m, nil
			case <-retrans:
				_ = c.write(req)
				interval *= 2
				if !invite {
					interval = min(interval, sipT2)
				}
				t.Reset(interval)
			case <-deadline.C:
				return nil, errors.New("SIP: no final response in time")
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	for {
		select {
		case m := <-ch:
			if m.code < 200 {
				continue
			}
			return m, nil
		case <-deadline.C:
			return nil, errors.New("SIP: no final response in time")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// invite sends the INVITE of a new dialog with offer as its body and ACKs
// its 2xx. It returns the 2xx.
func (ua *sipUA) invite(ctx context.Context, room, from string, offer []byte) (*leanDialog, *sipMsg, error) {
	c, err := ua.conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	d := &leanDialog{conn: c, room: room, from: from, callID: randHex(12) + "@parley-bench", fromTag: randHex(6)}
	ua.mu.Lock()
	ua.dialogs[d.callID] = d
	ua.mu.Unlock()
	res, err := ua.transact(ctx, c, true, func(branch string) []byte {
		var b strings.Builder
		b.Grow(512 + len(offer))
		fmt.Fprintf(&b, "INVITE %s SIP/2.0\r\n", room)
		d.commonHeaders(&b, branch, 1, "INVITE", false)
		b.WriteString("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\nContent-Type: application/sdp\r\n")
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(offer))
		b.Write(offer)
		return []byte(b.String())
	})
	if err != nil {
		ua.forget(d)
		ua.hangUp(c)
		return nil, nil, fmt.Errorf("INVITE: %w", err)
	}
	if res.code/100 != 2 {
		ua.forget(d)
		ua.hangUp(c)
		return nil, nil, fmt.Errorf("INVITE: %d %s", res.code, res.reason)
	}
	d.toTag = headerParam(res.get("to"), "tag")
	d.target = angleURI(res.get("contact"))
	if d.target == "" {
		d.target = room
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ACK %s SIP/2.0\r\n", d.target)
	d.commonHeaders(&b, "z9hG4bK"+randHex(10), 1, "ACK", true)
	b.WriteString("Content-Length: 0\r\n\r\n")
	d.ack = []byte(b.String())
	if err := c.write(d.ack); err != nil {
		return nil, nil, fmt.Errorf("ACK: %w", err)
	}
	return d, res, nil
}

// commonHeaders writes Via, Max-Forwards, From, To, Call-ID, CSeq and Contact.
func (d *leanDialog) commonHeaders(b *strings.Builder, branch string, cseq int, method string, withToTag bool) {
	tr := d.conn.ua.transport
	fmt.Fprintf(b, "Via: SIP/2.0/%s %s;branch=%s;rport\r\nMax-Forwards: 70\r\n", tr, d.conn.local, branch)
	fmt.Fprintf(b, "From: <%s>;tag=%s\r\n", d.from, d.fromTag)
	if withToTag && d.toTag != "" {
		fmt.Fprintf(b, "To: <%s>;tag=%s\r\n", d.room, d.toTag)
	} else {
		fmt.Fprintf(b, "To: <%s>\r\n", d.room)
	}
	fmt.Fprintf(b, "Call-ID: %s\r\nCSeq: %d %s\r\n", d.callID, cseq, method)
	fmt.Fprintf(b, "Contact: <sip:bench@%s;transport=%s>\r\n", d.conn.local, strings.ToLower(tr))
}

// bye ends the dialog (RFC 3261 §15.1.1) and waits for the 200. A dialog the
// focus already ended is left alone.
func (ua *sipUA) bye(ctx context.Context, d *leanDialog) error {
	defer ua.hangUp(d.conn)
	defer ua.forget(d)
	if d.ended.Load() {
		return nil
	}
	res, err := ua.transact(ctx, d.conn, false, func(branch string) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, "BYE %s SIP/2.0\r\n", d.target)
		d.commonHeaders(&b, branch, 2, "BYE", true)
		b.WriteString("Content-Length: 0\r\n\r\n")
		return []byte(b.String())
	})
	if err != nil {
		return fmt.Errorf("BYE: %w", err)
	}
	if res.code/100 != 2 && !d.ended.Load() {
		return fmt.Errorf("BYE: %d %s", res.code, res.reason)
	}
	d.ended.Store(true)
	return nil
}

// forget removes the dialog from the table.
func (ua *sipUA) forget(d *leanDialog) {
	ua.mu.Lock()
	delete(ua.dialogs, d.callID)
	ua.mu.Unlock()
}

// roomURI is the URI of room name on the server.
func roomURI(name, server string) string {
	host, port, _ := net.SplitHostPort(server)
	if _, err := strconv.Atoi(port); err != nil || port == "5060" {
		return "sip:" + name + "@" + host
	}
	return "sip:" + name + "@" + net.JoinHostPort(host, port)
}
