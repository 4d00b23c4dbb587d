// Package servertest talks raw SIP to a server under test (parleyd in
// process, or the focus on its own): requests built byte by byte, so that
// a test can leave out or break any header field, and responses read as
// the wire carries them; and LogBuffer, the log sink a server's goroutines
// and a test share. It imports nothing of parley's, so that any package's
// tests may use it.
package servertest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// SIP is a raw SIP peer: one UDP socket connected to the server, one TCP
// or TLS connection, or one WebSocket (ws.go).
type SIP struct {
	Transport string // "UDP", "TCP", "TLS" or "WSS"
	conn      net.Conn
	r         *bufio.Reader // TCP
	cseq      int
	local     string // Builder's address, or the WebSocket peer's .invalid host

	ws    *websocket.Conn
	in    chan wsMessage // what pump read
	wsErr error          // why reading ended
}

// DialSIP opens a raw SIP peer to addr over transport ("UDP" or "TCP").
func DialSIP(transport, addr string) (*SIP, error) {
	c, err := net.Dial(strings.ToLower(transport), addr)
	if err != nil {
		return nil, err
	}
	p := &SIP{Transport: strings.ToUpper(transport), conn: c}
	if p.Transport == "TCP" {
		p.r = bufio.NewReader(c)
	}
	return p, nil
}

// Over is a raw SIP peer on a TCP connection the test already has: one
// the server opened to it, for instance.
func Over(c net.Conn) *SIP {
	return &SIP{Transport: "TCP", conn: c, r: bufio.NewReader(c), local: c.LocalAddr().String()}
}

// Builder is a peer with no socket, only to Build requests as if sent
// from local over transport.
func Builder(transport, local string) *SIP {
	return &SIP{Transport: strings.ToUpper(transport), local: local}
}

// Close closes the peer's socket.
func (p *SIP) Close() error {
	if p.ws != nil {
		return p.ws.CloseNow()
	}
	if p.conn == nil {
		return nil
	}
	return p.conn.Close()
}

// Conn is the peer's socket, for a test that watches it close.
func (p *SIP) Conn() net.Conn { return p.conn }

// LocalAddr is the peer's address.
func (p *SIP) LocalAddr() string {
	if p.conn == nil {
		return p.local
	}
	return p.conn.LocalAddr().String()
}

// Send writes raw bytes: one datagram over UDP.
func (p *SIP) Send(b []byte) error {
	if p.ws != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return p.ws.Write(ctx, websocket.MessageText, b)
	}
	_, err := p.conn.Write(b)
	return err
}

// ErrNoAnswer: nothing arrived in time.
var ErrNoAnswer = errors.New("servertest: no SIP message in time")

// Read returns the next message from the server, within timeout: a
// datagram, or over TCP one message framed by its Content-Length. Over TCP
// io.EOF means the server closed the connection.
func (p *SIP) Read(timeout time.Duration) ([]byte, error) {
	if p.ws != nil {
		return p.readWS(timeout)
	}
	p.conn.SetReadDeadline(time.Now().Add(timeout))
	defer p.conn.SetReadDeadline(time.Time{})
	if p.Transport == "UDP" {
		buf := make([]byte, 65536)
		n, err := p.conn.Read(buf)
		if isTimeout(err) {
			return nil, ErrNoAnswer
		}
		return buf[:n], err
	}
	var msg []byte
	length := 0
	for {
		line, err := p.r.ReadString('\n')
		if isTimeout(err) {
			return nil, ErrNoAnswer
		}
		if err != nil {
			return nil, err
		}
		if len(msg) == 0 && line == "\r\n" {
			continue // keepalive
		}
		msg = append(msg, line...)
		if line == "\r\n" {
			break
		}
		if name, value, ok := strings.Cut(line, ":"); ok {
			if n := strings.ToLower(strings.TrimSpace(name)); n == "content-length" || n == "l" {
				length, _ = strconv.Atoi(strings.TrimSpace(value))
			}
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(p.r, body); err != nil {
		return nil, err
	}
	return append(msg, body...), nil
}

// Exchange sends req and returns its final response: the first response
// of 200 or above with the request's Call-ID and CSeq (or without them),
// skipping anything
// else (a provisional response, a retransmission, a request of the
// server's). Over UDP the request is retransmitted as a SIP client does
// (RFC 3261 §17.1.2.2: T1 = 500 ms, doubling up to T2 = 4 s), so that one
// lost datagram is not taken for a server that does not answer.
func (p *SIP) Exchange(req []byte, timeout time.Duration) ([]byte, error) {
	callID, cseq := Header(req, "Call-ID"), Header(req, "CSeq")
	if err := p.Send(req); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	interval := 500 * time.Millisecond
	resend := time.Now().Add(interval)
	for time.Now().Before(deadline) {
		wait := time.Until(deadline)
		if p.Transport == "UDP" {
			wait = min(wait, time.Until(resend))
		}
		res, err := p.Read(max(wait, time.Millisecond))
		if errors.Is(err, ErrNoAnswer) {
			if p.Transport == "UDP" && !time.Now().Before(resend) {
				if err := p.Send(req); err != nil {
					return nil, err
				}
				interval = min(2*interval, 4*time.Second)
				resend = time.Now().Add(interval)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		// An answer to a malformed request may lack the field at fault.
		rc, rs := Header(res, "Call-ID"), Header(res, "CSeq")
		if code, _ := Status(res); code >= 200 && (rc == callID || rc == "") && (rs == cseq || rs == "") {
			return res, nil
		}
	}
	return nil, ErrNoAnswer
}

// Req describes a request to build. Zero fields take defaults: a new
// Call-ID, the peer's next CSeq, Max-Forwards 70.
type Req struct {
	Method string
	URI    string   // Request-URI
	Drop   []string // header fields to leave out ("Call-ID", "To", …)
	Extra  []string // header lines to add ("Event: conference")
	Body   string   // with ContentType
	// ContentType of Body (default application/sdp when Body is set).
	ContentType string
	CallID      string
	FromTag     string
	ToTag       string
	CSeq        int
	Version     string // default SIP/2.0
}

// Build writes r as bytes, with a Via naming this peer (rport, RFC 3581,
// so that answers come back to its socket).
func (p *SIP) Build(r Req) []byte {
	if r.CallID == "" {
		r.CallID = RandomToken() + "@servertest"
	}
	if r.FromTag == "" {
		r.FromTag = RandomToken()
	}
	if r.CSeq == 0 {
		p.cseq++
		r.CSeq = p.cseq
	}
	if r.Version == "" {
		r.Version = "SIP/2.0"
	}
	to := "<" + r.URI + ">"
	if r.ToTag != "" {
		to += ";tag=" + r.ToTag
	}
	fields := [][2]string{
		{"Via", "SIP/2.0/" + p.Transport + " " + p.LocalAddr() + ";rport;branch=z9hG4bK" + RandomToken()},
		{"Max-Forwards", "70"},
		{"From", "<sip:tester@127.0.0.1>;tag=" + r.FromTag},
		{"To", to},
		{"Call-ID", r.CallID},
		{"CSeq", strconv.Itoa(r.CSeq) + " " + r.Method},
		{"Contact", "<sip:tester@" + p.LocalAddr() + ";transport=" + contactTransport(p.Transport) + ">"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", r.Method, r.URI, r.Version)
next:
	for _, f := range fields {
		for _, d := range r.Drop {
			if strings.EqualFold(d, f[0]) {
				continue next
			}
		}
		b.WriteString(f[0] + ": " + f[1] + "\r\n")
	}
	for _, e := range r.Extra {
		b.WriteString(e + "\r\n")
	}
	if r.Body != "" {
		ct := r.ContentType
		if ct == "" {
			ct = "application/sdp"
		}
		b.WriteString("Content-Type: " + ct + "\r\n")
	}
	dropLength := false
	for _, d := range r.Drop {
		dropLength = dropLength || strings.EqualFold(d, "Content-Length")
	}
	if !dropLength {
		b.WriteString("Content-Length: " + strconv.Itoa(len(r.Body)) + "\r\n")
	}
	b.WriteString("\r\n" + r.Body)
	return []byte(b.String())
}

// contactTransport is the Contact's transport parameter: "ws" for SIP over
// a WebSocket, secure or not (RFC 7118 §7).
func contactTransport(transport string) string {
	if transport == "WSS" {
		return "ws"
	}
	return strings.ToLower(transport)
}

// Status returns the status code and reason phrase of a response (0 for
// anything else).
func Status(msg []byte) (int, string) {
	line, _, _ := strings.Cut(string(msg), "\r\n")
	version, rest, ok := strings.Cut(line, " ")
	if !ok || version != "SIP/2.0" {
		return 0, ""
	}
	code, reason, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if err != nil {
		return 0, ""
	}
	return n, reason
}

// Header returns the value of the first header field name (long form,
// any case) in msg, or "".
func Header(msg []byte, name string) string {
	head, _, _ := strings.Cut(string(msg), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n")[1:] {
		n, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(n), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Offer is an SDP offer for an MSRP chat session (RFC 7701 §5.1) whose
// path is msrp://127.0.0.1:port/sid;tcp.
func Offer(port int, sid string) string {
	return "v=0\r\no=tester 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=message " + strconv.Itoa(port) + " TCP/MSRP *\r\na=accept-types:message/cpim\r\n" +
		"a=accept-wrapped-types:text/plain\r\na=path:msrp://127.0.0.1:" + strconv.Itoa(port) + "/" + sid + ";tcp\r\n" +
		"a=setup:active\r\na=chatroom:nickname private-messages\r\n"
}

// RandomToken is 12 random hex digits.
func RandomToken() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Field returns the value of the first header line "name: value" in msg
// (the name exactly as given, one space after the colon: what parleyd
// writes), or nil. It allocates nothing.
func Field(msg []byte, name string) []byte {
	i := bytes.Index(msg, []byte("\r\n"+name+": "))
	if i < 0 {
		return nil
	}
	v := msg[i+4+len(name):]
	if j := bytes.Index(v, []byte("\r\n")); j >= 0 {
		v = v[:j]
	}
	return v
}

// Reply answers a request of the server's (a BYE, a NOTIFY) with code and
// reason, its Via, From, To, Call-ID and CSeq copied (RFC 3261 §8.2.6).
func Reply(req []byte, code int, reason string) []byte {
	res := append([]byte("SIP/2.0 "), strconv.Itoa(code)+" "+reason+"\r\n"...)
	for _, h := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		res = append(append(append(append(res, h...), ": "...), Field(req, h)...), "\r\n"...)
	}
	return append(res, "Content-Length: 0\r\n\r\n"...)
}
