package servertest

import (
	"bufio"
	"net"
	"strings"
	"time"
)

// DialSIPFrom is DialSIP from the local address local ("127.0.0.2:0"):
// on Linux every address of 127.0.0.0/8 is the loopback interface, so a
// test can be several sources at once.
func DialSIPFrom(transport, local, addr string) (*SIP, error) {
	network := strings.ToLower(transport)
	var la net.Addr
	var err error
	if network == "udp" {
		la, err = net.ResolveUDPAddr("udp", local)
	} else {
		la, err = net.ResolveTCPAddr("tcp", local)
	}
	if err != nil {
		return nil, err
	}
	c, err := (&net.Dialer{LocalAddr: la}).Dial(network, addr)
	if err != nil {
		return nil, err
	}
	p := &SIP{Transport: strings.ToUpper(transport), conn: c}
	if p.Transport == "TCP" {
		p.r = bufio.NewReader(c)
	}
	return p, nil
}

// WithFrom returns req with the From of Build (<sip:tester@127.0.0.1>)
// replaced by from, a name-addr or addr-spec without the tag
// ("\"Ann\" <sip:ann@example.com>").
func WithFrom(req []byte, from string) []byte {
	return []byte(strings.Replace(string(req), "From: <sip:tester@127.0.0.1>", "From: "+from, 1))
}

// Received is what a peer received while it listened: every message's
// size and start line.
type Received struct {
	Bytes int
	Lines []string
	Sizes []int
}

// Count is the number of messages whose start line begins with prefix.
func (r Received) Count(prefix string) int {
	n := 0
	for _, l := range r.Lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// BytesOf is the number of bytes of messages whose start line begins with
// prefix.
func (r Received) BytesOf(prefix string) int {
	n := 0
	for i, l := range r.Lines {
		if strings.HasPrefix(l, prefix) {
			n += r.Sizes[i]
		}
	}
	return n
}

// Listen reads everything that arrives for d, answering nothing: what a
// spoofed source (a victim that never asked for it) would get.
func (p *SIP) Listen(d time.Duration) Received {
	var r Received
	deadline := time.Now().Add(d)
	for {
		msg, err := p.Read(time.Until(deadline))
		if err != nil || len(msg) == 0 {
			return r
		}
		line, _, _ := strings.Cut(string(msg), "\r\n")
		r.Bytes += len(msg)
		r.Lines = append(r.Lines, line)
		r.Sizes = append(r.Sizes, len(msg))
	}
}
