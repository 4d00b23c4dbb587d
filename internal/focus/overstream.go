package focus

import (
	"errors"
	"net"
	"strconv"
	"syscall"

	"github.com/emiago/sipgo/sip"
)

const (
	// maxUDPRequest: "if it is larger than 1300 bytes and the path MTU is
	// unknown, the request MUST be sent using an RFC 2914 congestion
	// controlled transport protocol, such as TCP" (RFC 3261 §18.1.1).
	maxUDPRequest = 1300
	// viaAllowance is what sipgo adds after we measure: the Via of the
	// client transaction (about 90 octets).
	viaAllowance = 128
)

// overStream moves a request of ours that would go over UDP to TCP when
// it is larger than 1,300 octets (RFC 3261 §18.1.1), or when the peer is
// unverified: its address has not shown that it receives what we send
// (udpVerified), so that a spoofed SUBSCRIBE cannot aim a conference
// document, retransmitted, at a third party. sipgo v1.7.2 leaves
// §18.1.1 to its caller (TransportLayer.WriteMsgTo: "TODO"): its client
// transaction sends over req.Transport() to req.Destination(), and
// ClientRequestAddVia writes that transport in the Via, so switching both
// before the transaction starts is all it takes.
//
// The TCP connection goes to the IP address the dialog's requests came
// from, at the port of the remote target (the peer's Contact, RFC 3261
// §12.2.1.1; 5060 when it has none, RFC 3263 §4.2): a user agent
// listening on UDP listens for TCP on the same port (RFC 3261 §18.2.1;
// parley's client does), but may send from another socket. Never the
// Contact's host: a spoofed request cannot point the focus at a third
// party. A TCP handshake cannot be completed from a spoofed address, so
// at worst a few SYNs go to it. When the connection is refused, a NOTIFY
// is retried over UDP as §18.1.1 asks, within the amplification bounds
// of SendNotify. It reports whether it moved req to TCP.
func (f *Focus) overStream(req *sip.Request, p hop, target sip.Uri, unverified bool) bool {
	if sip.IsReliable(p.transport) {
		return false
	}
	if !unverified && !tooLargeForUDP(req) {
		return false
	}
	host, _, err := net.SplitHostPort(p.source)
	if err != nil {
		return false // no source to go back to: sipgo resolves the target over UDP as before
	}
	port := target.Port
	if port <= 0 {
		port = 5060
	}
	req.SetTransport("TCP")
	req.Laddr = sip.Addr{} // the UDP listener's address was for UDP
	req.SetDestination(net.JoinHostPort(host, strconv.Itoa(port)))
	return true
}

// refused reports whether err is a stream connection that could not be
// made because the peer refused it: "a TCP reset" or "ICMP Protocol Not
// Supported", after which RFC 3261 §18.1.1 says to retry over UDP.
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

// tooLargeForUDP reports whether req, once sipgo has added its Via, is
// over maxUDPRequest octets.
func tooLargeForUDP(req *sip.Request) bool {
	if len(req.Body())+viaAllowance > maxUDPRequest {
		return true
	}
	return len(req.String())+viaAllowance > maxUDPRequest // a short message: cheap to write out
}
