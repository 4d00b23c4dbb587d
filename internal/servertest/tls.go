package servertest

import (
	"bufio"
	"crypto/tls"
	"net"
	"strconv"
	"time"
)

// DialSIPTLS opens a raw SIP peer to addr over TLS (RFC 3261 §26.2), its
// requests built with Via SIP/2.0/TLS and a transport=tls Contact. cfg
// carries the trust: a test trusts the server's self-signed certificate
// by putting its Leaf in cfg.RootCAs. The handshake is done before it
// returns, within 5 s.
func DialSIPTLS(addr string, cfg *tls.Config) (*SIP, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	return &SIP{Transport: "TLS", conn: c, r: bufio.NewReader(c)}, nil
}

// SecureOffer is Offer over TLS: a TCP/TLS/MSRP stream whose path is
// msrps://127.0.0.1:port/sid;tcp (RFC 4975 §14.3).
func SecureOffer(port int, sid string) string {
	return "v=0\r\no=tester 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=message " + strconv.Itoa(port) + " TCP/TLS/MSRP *\r\na=accept-types:message/cpim\r\n" +
		"a=accept-wrapped-types:text/plain\r\na=path:msrps://127.0.0.1:" + strconv.Itoa(port) + "/" + sid + ";tcp\r\n" +
		"a=setup:active\r\na=chatroom:nickname private-messages\r\n"
}
