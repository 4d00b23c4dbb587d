// Package pcaptest writes synthetic packet captures for tests that hand
// protocol bytes to a third-party decoder (tshark): the bytes are ours, the
// IPv4, TCP and UDP headers around them are made up here.
//
// A Capture is a classic pcap file (microsecond timestamps, LINKTYPE_RAW:
// every record is an IPv4 packet, no link-layer header). Packets get
// increasing timestamps, one Step apart. A TCP stream keeps consistent
// sequence and acknowledgement numbers in each direction, so Wireshark
// follows and reassembles it; IPv4, TCP and UDP checksums are correct.
//
// It uses the standard library only and is not safe for concurrent use.
package pcaptest

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"time"
)

const (
	linktypeRaw = 101 // LINKTYPE_RAW: raw IPv4/IPv6, no link-layer header
	snaplen     = 262144

	// MaxSegment is the largest TCP payload that fits one IPv4 packet
	// (65535 less 20 octets of IPv4 and 20 of TCP header).
	MaxSegment = 65535 - 40
	// MaxDatagram is the largest UDP payload that fits one IPv4 packet.
	MaxDatagram = 65535 - 28
)

// TCP flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagPSH = 0x08
	flagACK = 0x10
)

// DefaultStart is the timestamp of a new Capture's first packet.
var DefaultStart = time.Unix(1700000000, 0).UTC()

// Capture accumulates a pcap file in memory.
type Capture struct {
	// Now is the timestamp of the next packet; it advances by Step after
	// each one. Set it, or call Advance, to leave a gap.
	Now  time.Time
	Step time.Duration

	buf     []byte
	packets int
}

// New returns an empty Capture starting at DefaultStart, one millisecond
// between packets.
func New() *Capture {
	le := binary.LittleEndian
	c := &Capture{Now: DefaultStart, Step: time.Millisecond}
	c.buf = le.AppendUint32(c.buf, 0xa1b2c3d4) // microsecond resolution
	c.buf = le.AppendUint16(c.buf, 2)
	c.buf = le.AppendUint16(c.buf, 4)
	c.buf = le.AppendUint32(c.buf, 0) // thiszone
	c.buf = le.AppendUint32(c.buf, 0) // sigfigs
	c.buf = le.AppendUint32(c.buf, snaplen)
	c.buf = le.AppendUint32(c.buf, linktypeRaw)
	return c
}

// Bytes is the capture so far: a complete pcap file.
func (c *Capture) Bytes() []byte { return c.buf }

// Packets is the number of packets written so far.
func (c *Capture) Packets() int { return c.packets }

// WriteFile writes the capture to path.
func (c *Capture) WriteFile(path string) error { return os.WriteFile(path, c.buf, 0o600) }

// Advance moves the clock forward by d (on top of the Step after each
// packet).
func (c *Capture) Advance(d time.Duration) { c.Now = c.Now.Add(d) }

func (c *Capture) record(pkt []byte) {
	le := binary.LittleEndian
	us := c.Now.UnixMicro()
	c.buf = le.AppendUint32(c.buf, uint32(us/1e6))
	c.buf = le.AppendUint32(c.buf, uint32(us%1e6))
	c.buf = le.AppendUint32(c.buf, uint32(len(pkt)))
	c.buf = le.AppendUint32(c.buf, uint32(len(pkt)))
	c.buf = append(c.buf, pkt...)
	c.packets++
	c.Now = c.Now.Add(c.Step)
}

// UDP writes one datagram from src to dst. It panics unless both are IPv4
// and the payload fits one packet.
func (c *Capture) UDP(src, dst netip.AddrPort, payload []byte) {
	if len(payload) > MaxDatagram {
		panic(fmt.Sprintf("pcaptest: %d-octet datagram does not fit an IPv4 packet", len(payload)))
	}
	be := binary.BigEndian
	udp := make([]byte, 8, 8+len(payload))
	be.PutUint16(udp[0:], src.Port())
	be.PutUint16(udp[2:], dst.Port())
	be.PutUint16(udp[4:], uint16(8+len(payload)))
	udp = append(udp, payload...)
	sum := transportChecksum(ipv4(src), ipv4(dst), 17, udp)
	if sum == 0 {
		sum = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	be.PutUint16(udp[6:], sum)
	c.record(ipv4Packet(ipv4(src), ipv4(dst), 17, udp))
}

// TCPStream is one TCP connection between a client and a server endpoint.
type TCPStream struct {
	c              *Capture
	client, server netip.AddrPort
	seq            [2]uint32 // next sequence number: [0] client's, [1] server's

	// MSS is the largest payload of one segment: Send cuts longer data
	// into several segments. New streams have MaxSegment.
	MSS int
}

// TCP starts a stream between client and server (both IPv4). With
// handshake it writes SYN, SYN-ACK and ACK first; without, the capture
// shows the connection from its first data segment on.
func (c *Capture) TCP(client, server netip.AddrPort, handshake bool) *TCPStream {
	ipv4(client)
	ipv4(server)
	s := &TCPStream{c: c, client: client, server: server, seq: [2]uint32{1000, 5000}, MSS: MaxSegment}
	if handshake {
		s.segment(0, flagSYN, nil)
		s.segment(1, flagSYN|flagACK, nil)
		s.segment(0, flagACK, nil)
	}
	return s
}

// Client sends data from the client to the server.
func (s *TCPStream) Client(data []byte) { s.Send(true, data) }

// Server sends data from the server to the client.
func (s *TCPStream) Server(data []byte) { s.Send(false, data) }

// Send writes data as one segment (several if it exceeds MSS) with PSH and
// ACK set, from the client when fromClient, else from the server.
func (s *TCPStream) Send(fromClient bool, data []byte) {
	dir := 1
	if fromClient {
		dir = 0
	}
	mss := min(max(s.MSS, 1), MaxSegment)
	for len(data) > mss {
		s.segment(dir, flagACK, data[:mss])
		data = data[mss:]
	}
	s.segment(dir, flagPSH|flagACK, data)
}

// Close ends the stream: FIN from the client, FIN-ACK from the server, and
// the client's last ACK.
func (s *TCPStream) Close() {
	s.segment(0, flagFIN|flagACK, nil)
	s.segment(1, flagFIN|flagACK, nil)
	s.segment(0, flagACK, nil)
}

// segment writes one TCP segment in direction dir (0 client→server) and
// advances that direction's sequence number.
func (s *TCPStream) segment(dir int, flags byte, data []byte) {
	src, dst := s.client, s.server
	if dir == 1 {
		src, dst = dst, src
	}
	be := binary.BigEndian
	tcp := make([]byte, 20, 20+len(data))
	be.PutUint16(tcp[0:], src.Port())
	be.PutUint16(tcp[2:], dst.Port())
	be.PutUint32(tcp[4:], s.seq[dir])
	if flags&flagACK != 0 { // everything the peer has sent so far
		be.PutUint32(tcp[8:], s.seq[1-dir])
	}
	tcp[12] = 5 << 4 // data offset: 5 words, no options
	tcp[13] = flags
	be.PutUint16(tcp[14:], 65535) // window
	tcp = append(tcp, data...)
	be.PutUint16(tcp[16:], transportChecksum(ipv4(src), ipv4(dst), 6, tcp))
	s.c.record(ipv4Packet(ipv4(src), ipv4(dst), 6, tcp))

	adv := uint32(len(data))
	if flags&(flagSYN|flagFIN) != 0 { // SYN and FIN count as one octet each
		adv++
	}
	s.seq[dir] += adv
}

func ipv4(ap netip.AddrPort) [4]byte {
	a := ap.Addr().Unmap()
	if !a.Is4() {
		panic(fmt.Sprintf("pcaptest: %v is not an IPv4 endpoint", ap))
	}
	return a.As4()
}

// ipv4Packet wraps payload of protocol proto in an IPv4 header (no
// options, don't fragment, TTL 64).
func ipv4Packet(src, dst [4]byte, proto byte, payload []byte) []byte {
	be := binary.BigEndian
	ip := make([]byte, 20, 20+len(payload))
	ip[0] = 0x45
	be.PutUint16(ip[2:], uint16(20+len(payload)))
	be.PutUint16(ip[6:], 0x4000) // don't fragment
	ip[8] = 64
	ip[9] = proto
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	be.PutUint16(ip[10:], checksum(0, ip))
	return append(ip, payload...)
}

// transportChecksum is the TCP or UDP checksum of seg (its checksum field
// zero) with the IPv4 pseudo-header.
func transportChecksum(src, dst [4]byte, proto byte, seg []byte) uint16 {
	var pseudo [12]byte
	copy(pseudo[0:], src[:])
	copy(pseudo[4:], dst[:])
	pseudo[9] = proto
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(seg)))
	return checksum(sum(0, pseudo[:]), seg)
}

// checksum is the Internet checksum (RFC 1071) of b, continuing from a
// partial sum.
func checksum(partial uint32, b []byte) uint16 {
	s := sum(partial, b)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func sum(s uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	// fold now so that long inputs cannot overflow
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return s
}
