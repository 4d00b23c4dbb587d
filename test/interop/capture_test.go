package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-im/parley/client"
	"github.com/parley-im/parley/internal/pcaptest"
	"github.com/parley-im/parley/internal/servertest"
)

// liveCapture is a dumpcap capturing on the loopback interface into a
// pcap file.
//
// Why a live capture and not a recording proxy or a tap in the server: a
// proxy cannot be transparent here (the focus's a=path and Contact carry
// its real addresses, so the client's MSRP connection and in-dialog
// requests would bypass it unless the proxy rewrote SDP and SIP, which
// would then no longer be what parleyd wrote), and a tap in parleyd's
// listeners would capture our own idea of the bytes, not the TCP
// segmentation the kernel produced (parleyd's MSRP writer batches PDUs with
// writev, several PDUs in one segment: exactly what a decoder must cope
// with). dumpcap on lo sees the real packets. It needs CAP_NET_RAW: CI runs
// .ci/run as root, where that holds; elsewhere a capture that cannot start
// skips the test (and fails it in CI, like a missing tool).
//
// Start and end are made certain with probe datagrams rather than
// timing: the capture filter also admits a UDP port of ours, and we send a
// uniquely marked datagram to it until it shows up in the file. The start
// probe proves the filter is attached and packets are being written; the
// end probe, sent after the session, proves every packet before it has
// been written (the packet socket delivers in order), so stopping
// dumpcap then loses nothing.
type liveCapture struct {
	cmd    *exec.Cmd
	file   string
	stderr *servertest.LogBuffer
	probe  *net.UDPConn
	exited chan struct{} // closed when dumpcap has exited; err is then its Wait error
	err    error
}

// startCapture starts dumpcap on lo writing a pcap file to path; filter
// must admit datagrams to probe's own address.
func startCapture(t *testing.T, dumpcap, filter, path string, probe *net.UDPConn) *liveCapture {
	t.Helper()
	c := &liveCapture{file: path, stderr: &servertest.LogBuffer{}, probe: probe, exited: make(chan struct{})}
	// -P: pcap, not pcapng; -q: no packet counts
	c.cmd = exec.Command(dumpcap, "-i", "lo", "-f", filter, "-P", "-q", "-w", path)
	c.cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user profile
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { // when stop was not reached
		select {
		case <-c.exited:
		default:
			c.cmd.Process.Kill()
			<-c.exited
		}
	})
	if err := c.await("start"); err != nil {
		msg := fmt.Sprintf("dumpcap cannot capture on lo: %v\n%s", err, c.stderr.String())
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "\nCI runs .ci/run as root: a capture on lo must work there")
		}
		t.Skip(msg + "\n(the test needs CAP_NET_RAW, e.g. root; CI runs it)")
	}
	return c
}

// await sends a datagram marked with what to the probe socket's own port
// every 100 ms until the capture file holds it (at most 10 s).
func (c *liveCapture) await(what string) error {
	marker := []byte(fmt.Sprintf("parley capture probe: %s %d", what, time.Now().UnixNano()))
	self := c.probe.LocalAddr().(*net.UDPAddr)
	deadline := time.Now().Add(10 * time.Second)
	var sent time.Time
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return fmt.Errorf("dumpcap exited: %v", c.err)
		default:
		}
		if time.Since(sent) >= 100*time.Millisecond {
			if _, err := c.probe.WriteToUDP(marker, self); err != nil {
				return err
			}
			sent = time.Now()
		}
		if b, err := os.ReadFile(c.file); err == nil && bytes.Contains(b, marker) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the %s probe did not reach the capture file in 10 s", what)
}

// stop waits for the end probe, then stops dumpcap (SIGTERM: it closes the
// file cleanly and exits 0).
func (c *liveCapture) stop(t *testing.T) {
	t.Helper()
	if err := c.await("end"); err != nil {
		t.Fatalf("%v\n%s", err, c.stderr.String())
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
		if c.err != nil {
			t.Fatalf("dumpcap: %v\n%s", c.err, c.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("dumpcap did not stop on SIGTERM\n%s", c.stderr.String())
	}
}

func port(t *testing.T, hostport string) uint16 {
	t.Helper()
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	return ap.Port()
}

// nextChat waits for s's next message that is not a system notice.
func nextChat(t *testing.T, s *client.Session) client.Message {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-s.Messages():
			if !ok {
				t.Fatalf("messages closed: %v", s.Err())
			}
			if !m.System {
				return m
			}
		case <-timeout:
			t.Fatal("no message")
		}
	}
}

// TestCaptureDecodesInTshark captures a whole session with the real
// parleyd on the wire (two participants, one joining over SIP/UDP and one
// over SIP/TCP, both binding MSRP; a regular, a private and a chunked
// message, a NICKNAME; both leave) and has tshark decode it as SIP, SDP and
// MSRP with no malformed packet and no expert warning. TCP's own analysis
// warnings and D-SACK blocks are left out: on a loaded loopback they are
// the kernel's retransmission bookkeeping, not a fault in a SIP or MSRP
// message (a malformed message in the same frame still fails the test).
func TestCaptureDecodesInTshark(t *testing.T) {
	tshark := needTool(t, "tshark", "tshark")
	dumpcap := needTool(t, "dumpcap", "tshark") // wireshark-common, a dependency of tshark
	d := startParleyd(t, buildParleyd(t))
	udpPort, tcpPort, msrpPort := port(t, d.sipUDP), port(t, d.sipTCP), port(t, d.msrp)

	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	probePort := probe.LocalAddr().(*net.UDPAddr).Port
	// Every packet of the session has one of parleyd's ports at one end
	// (the clients leave themselves: parleyd sends no request of its own).
	filter := fmt.Sprintf("host 127.0.0.1 and (udp port %d or tcp port %d or tcp port %d or udp port %d)",
		udpPort, tcpPort, msrpPort, probePort)
	// t.TempDir goes with the test: PARLEY_CAPTURE_DIR keeps the capture.
	dir := os.Getenv("PARLEY_CAPTURE_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	pcap := filepath.Join(dir, "session.pcap")
	var summary string // the capture as tshark lists it
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("capture %s (set PARLEY_CAPTURE_DIR to keep it); tshark shows:\n%s", pcap, summary)
		}
	})
	capture := startCapture(t, dumpcap, filter, pcap, probe)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := func(user, transport string) client.Options {
		return client.Options{From: "sip:" + user + "@example.com", DisplayName: user, Transport: transport, Timeout: 5 * time.Second}
	}
	alice, err := client.Join(ctx, "sip:lobby@"+d.sipTCP, opts("alice", "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := client.Join(ctx, "sip:lobby@"+d.sipUDP, opts("bob", "udp"))
	if err != nil {
		alice.Leave(ctx)
		t.Fatal(err)
	}
	big := strings.Repeat("0123456789abcdef", 320) // 5120 octets: chunked (2048 at most per chunk)
	err = func() error {
		if err := alice.Send(ctx, "hello bob"); err != nil {
			return err
		}
		if m := nextChat(t, bob); string(m.Body) != "hello bob" || m.Private {
			return fmt.Errorf("bob got %+v", m)
		}
		if err := bob.SendPrivate(ctx, "sip:alice@example.com", "psst"); err != nil {
			return err
		}
		if m := nextChat(t, alice); string(m.Body) != "psst" || !m.Private {
			return fmt.Errorf("alice got %+v", m)
		}
		if err := alice.Send(ctx, big); err != nil {
			return err
		}
		if m := nextChat(t, bob); string(m.Body) != big {
			return fmt.Errorf("bob got %d octets of the big message, want %d", len(m.Body), len(big))
		}
		return bob.SetNickname(ctx, "Bobby")
	}()
	for _, s := range []*client.Session{alice, bob} {
		if lerr := s.Leave(ctx); lerr != nil && !errors.Is(lerr, client.ErrSessionEnded) {
			t.Errorf("leave: %v", lerr)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	capture.stop(t)
	d.stop(t)
	if strings.Contains(d.log.String(), "level=ERROR") {
		t.Errorf("parleyd logged errors:\n%s", d.log.String())
	}

	args := []string{"-r", pcap, "-o", "tcp.desegment_tcp_streams:TRUE",
		"-d", fmt.Sprintf("tcp.port==%d,msrp", msrpPort),
		"-d", fmt.Sprintf("udp.port==%d,sip", udpPort), "-d", fmt.Sprintf("tcp.port==%d,sip", tcpPort)}
	summary = pcaptest.RunTshark(t, tshark, args...)
	frames := readFrames(t, pcaptest.RunTshark(t, tshark, slices.Concat(args, fieldArgs())...))
	checkSIP(t, frames, udpPort, tcpPort, msrpPort)
	checkMSRP(t, frames, msrpPort)
	if bad := pcaptest.RunTshark(t, tshark, slices.Concat(args, []string{"-Y", "_ws.malformed || (_ws.expert.severity >= warning && !tcp.analysis.flags && !tcp.options.sack.dsack)",
		"-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"})...); strings.TrimSpace(bad) != "" {
		t.Errorf("tshark reports malformed packets or expert warnings (frame, messages):\n%s", bad)
	}
}

// The fields read from each frame, in this order.
const (
	fNumber = iota
	fUDPSrc
	fUDPDst
	fTCPStream
	fTCPSrc
	fTCPDst
	fTCPSeq
	fTCPLen
	fTCPReassembledIn
	fTCPPayload
	fSIPMethod
	fSIPStatus
	fSIPCSeqMethod
	fSDPMedia
	fMSRPRequest
	fMSRPResponse
	fMSRPEnd
	nFields
)

var fieldNames = [nFields]string{"frame.number", "udp.srcport", "udp.dstport", "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.len",
	"tcp.reassembled_in", "tcp.payload", "sip.Method", "sip.Status-Code", "sip.CSeq.method", "sdp.media",
	"msrp.request.line", "msrp.response.line", "msrp.end.line"}

func fieldArgs() []string {
	args := []string{"-T", "fields", "-E", "separator=/t", "-E", "aggregator=;", "-E", "occurrence=a"}
	for _, f := range fieldNames {
		args = append(args, "-e", f)
	}
	return args
}

// frame is one packet as tshark decoded it. Fields that occur more than
// once in a frame (several SIP messages or MSRP PDUs) are lists.
type frame struct {
	num       int
	udp       bool   // else TCP
	stream    string // tcp.stream
	srcPort   uint16
	dstPort   uint16
	seq       int // relative
	payload   []byte
	reasmIn   string   // the frame where tshark reassembled this segment's PDU, if another
	sipMethod []string // requests' methods
	sipStatus []string // responses' codes
	sipCSeq   []string // every message's CSeq method, in order
	sdpMedia  []string
	msrpStart []string // request and response lines
	msrpEnd   []string
}

func (fr *frame) hasPort(p uint16) bool { return fr.srcPort == p || fr.dstPort == p }

func portNumber(s string) uint16 {
	p, _ := strconv.ParseUint(s, 10, 16)
	return uint16(p)
}

func readFrames(t *testing.T, out string) []frame {
	t.Helper()
	list := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ";")
	}
	var frames []frame
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != nFields {
			t.Fatalf("tshark line with %d fields, want %d: %q", len(f), nFields, line)
		}
		var fr frame
		var err error
		if fr.num, err = strconv.Atoi(f[fNumber]); err != nil {
			t.Fatalf("frame number in %q", line)
		}
		src, dst := f[fTCPSrc], f[fTCPDst]
		if fr.udp = f[fUDPSrc] != ""; fr.udp {
			src, dst = f[fUDPSrc], f[fUDPDst]
		}
		fr.srcPort, fr.dstPort = portNumber(src), portNumber(dst)
		fr.stream, fr.reasmIn = f[fTCPStream], f[fTCPReassembledIn]
		if !fr.udp && f[fTCPLen] != "0" {
			fr.seq, _ = strconv.Atoi(f[fTCPSeq])
			if fr.payload, err = hex.DecodeString(f[fTCPPayload]); err != nil {
				t.Fatalf("frame %d: tcp.payload %q", fr.num, f[fTCPPayload])
			}
			if n, _ := strconv.Atoi(f[fTCPLen]); n != len(fr.payload) {
				t.Fatalf("frame %d: tcp.len %s, %d octets of payload", fr.num, f[fTCPLen], len(fr.payload))
			}
		}
		fr.sipMethod, fr.sipStatus, fr.sipCSeq = list(f[fSIPMethod]), list(f[fSIPStatus]), list(f[fSIPCSeqMethod])
		fr.sdpMedia = list(f[fSDPMedia])
		fr.msrpStart = append(list(f[fMSRPRequest]), list(f[fMSRPResponse])...)
		fr.msrpEnd = list(f[fMSRPEnd])
		frames = append(frames, fr)
	}
	return frames
}

// checkSIP requires every datagram to or from parleyd's SIP/UDP port and
// every TCP segment with data on its SIP/TCP port to be dissected as SIP,
// and on each transport an INVITE and its 200 with an SDP body dissected
// (the MSRP "message" media line; the 200's on parleyd's MSRP port), an ACK, a
// BYE and its 200.
func checkSIP(t *testing.T, frames []frame, udpPort, tcpPort, msrpPort uint16) {
	seen := map[string]int{} // "udp INVITE+SDP", "tcp 200 BYE", …
	// the client's offer (active: port 9, RFC 6135) and the focus's answer
	wantMedia := map[string]string{"INVITE": "message 9 TCP/MSRP *", "200 INVITE": fmt.Sprintf("message %d TCP/MSRP *", msrpPort)}
	for _, fr := range frames {
		transport := "tcp"
		if fr.udp {
			transport = "udp"
		}
		onSIP := fr.udp && fr.hasPort(udpPort) || !fr.udp && len(fr.payload) > 0 && fr.hasPort(tcpPort)
		if len(fr.sipCSeq) == 0 {
			if onSIP && fr.reasmIn == "" {
				t.Errorf("frame %d carries data on a SIP port but was not dissected as SIP", fr.num)
			}
			continue
		}
		// Each message has one CSeq; requests are those whose CSeq
		// method is the next request method (a request's CSeq method is
		// its method, RFC 3261 §8.1.1.5), the others are responses.
		ri, si := 0, 0
		for _, m := range fr.sipCSeq {
			var key string
			if ri < len(fr.sipMethod) && fr.sipMethod[ri] == m {
				key = m
				ri++
			} else if si < len(fr.sipStatus) {
				key = fr.sipStatus[si] + " " + m
				si++
			} else {
				t.Errorf("frame %d: SIP fields do not pair up: methods %v, statuses %v, CSeq %v", fr.num, fr.sipMethod, fr.sipStatus, fr.sipCSeq)
				break
			}
			seen[transport+" "+key]++
			if want, ok := wantMedia[key]; ok && slices.Contains(fr.sdpMedia, want) {
				seen[transport+" "+key+"+SDP"]++
			}
		}
	}
	for _, transport := range []string{"udp", "tcp"} {
		for _, key := range []string{"INVITE+SDP", "200 INVITE+SDP", "ACK", "BYE", "200 BYE"} {
			if seen[transport+" "+key] == 0 {
				t.Errorf("no %s over %s dissected as SIP (seen: %v)", key, transport, seen)
			}
		}
	}
	t.Logf("SIP messages dissected: %v", seen)
}

// pdu is one MSRP request or response found in a TCP stream's payload.
type pdu struct {
	fromSwitch    bool
	start, end    string // start line and end-line
	method, code  string // one of them set
	tid           string
	lastFrame     int  // the frame holding its last octet
	startsSegment bool // it begins at the first octet of a segment
	shown         bool // tshark's MSRP dissector showed it
}

// checkMSRP splits each direction of each MSRP connection into PDUs from
// the TCP payload and matches them with what Wireshark's MSRP dissector
// shows.
//
// Wireshark 4.0's dissector decodes only the first PDU of a TCP segment
// (it dissects one message and hands back its length, and nothing calls it
// again for the rest of the segment: see msrp/interop_tshark_test.go), and
// parleyd's switch batches PDUs with writev, so a live capture holds
// segments with several PDUs (e.g. a 200 and the next SEND, or the chunks
// of a relayed message). The check is therefore: every PDU that begins a
// segment is shown by the dissector in the frame that ends it, with our
// start line and end-line; the dissector shows nothing else; the PDUs it
// does not show are exactly those that follow another in the same segment
// (counted and logged). The counts of SENDs, NICKNAMEs and 200s come from
// the payload, split here independently of our msrp package: a start line
// "MSRP tid method|code" up to the end-line "-------tid" plus flag.
func checkMSRP(t *testing.T, frames []frame, msrpPort uint16) {
	type direction struct {
		stream     string
		fromSwitch bool
	}
	type segment struct {
		frame, offset int
	}
	var order []direction
	buf := map[direction][]byte{}
	segs := map[direction][]segment{}
	next := map[direction]int{}
	shown := map[int][]string{} // frame → "start … end" as dissected
	for _, fr := range frames {
		if fr.udp || !fr.hasPort(msrpPort) {
			continue
		}
		for _, st := range fr.msrpStart {
			f := strings.Fields(st)
			end := ""
			for _, e := range fr.msrpEnd {
				if len(f) > 1 && strings.TrimRight(strings.TrimPrefix(e, "-------"), "$+#") == f[1] {
					end = e
				}
			}
			shown[fr.num] = append(shown[fr.num], st+" … "+end)
		}
		if len(fr.payload) == 0 {
			continue
		}
		d := direction{fr.stream, fr.srcPort == msrpPort}
		if _, ok := buf[d]; !ok {
			order = append(order, d)
			next[d] = 1 // relative sequence numbers start at 1
		}
		if fr.seq != next[d] {
			t.Errorf("frame %d: MSRP stream %s continues at %d, want %d: a segment is missing from the capture or repeated", fr.num, d.stream, fr.seq, next[d])
		}
		next[d] = fr.seq + len(fr.payload)
		segs[d] = append(segs[d], segment{fr.num, len(buf[d])})
		buf[d] = append(buf[d], fr.payload...)
	}

	var pdus []*pdu
	for _, d := range order {
		b, ss := buf[d], segs[d]
		frameAt := func(off int) (num int, first bool) {
			i := sort.Search(len(ss), func(i int) bool { return ss[i].offset > off }) - 1
			return ss[i].frame, ss[i].offset == off
		}
		for off := 0; off < len(b); {
			eol := bytes.Index(b[off:], []byte("\r\n"))
			var f []string
			if eol > 0 {
				f = strings.Fields(string(b[off : off+eol]))
			}
			if len(f) < 3 || f[0] != "MSRP" {
				t.Errorf("MSRP stream %s (from switch %v): no start line at offset %d: %.80q", d.stream, d.fromSwitch, off, b[off:])
				break
			}
			marker := "\r\n-------" + f[1]
			i := bytes.Index(b[off+eol:], []byte(marker))
			endAt := off + eol + i + len(marker) // the flag
			if i < 0 || endAt+3 > len(b) || !strings.ContainsRune("$+#", rune(b[endAt])) || string(b[endAt+1:endAt+3]) != "\r\n" {
				t.Errorf("MSRP stream %s (from switch %v): no end-line for %q", d.stream, d.fromSwitch, f)
				break
			}
			p := &pdu{fromSwitch: d.fromSwitch, tid: f[1], start: string(b[off : off+eol]), end: string(b[endAt-len(marker)+2 : endAt+1])}
			if len(f[2]) == 3 && f[2][0] >= '0' && f[2][0] <= '9' {
				p.code = f[2]
			} else {
				p.method = f[2]
			}
			_, p.startsSegment = frameAt(off)
			p.lastFrame, _ = frameAt(endAt + 2)
			pdus = append(pdus, p)
			off = endAt + 3
		}
	}

	// What the dissector shows must be our PDUs, frame by frame.
	byFrame := map[int][]*pdu{}
	for _, p := range pdus {
		byFrame[p.lastFrame] = append(byFrame[p.lastFrame], p)
	}
	nums := slices.Sorted(maps.Keys(shown))
	for _, num := range nums {
	lines:
		for _, line := range shown[num] {
			for _, p := range byFrame[num] {
				if !p.shown && line == p.start+" … "+p.end {
					p.shown = true
					continue lines
				}
			}
			t.Errorf("frame %d: the MSRP dissector shows %q, which is not a PDU ending in that frame", num, line)
		}
	}
	var hidden int
	count := map[string]int{}     // "client SEND", "switch 200", …
	dissected := map[string]int{} // the same, as the dissector showed them
	answered := map[string]bool{}
	for _, p := range pdus {
		who := "client"
		if p.fromSwitch {
			who = "switch"
		}
		key := who + " " + p.method + p.code
		count[key]++
		if p.shown {
			dissected[key]++
		} else if p.startsSegment {
			t.Errorf("frame %d: the MSRP dissector does not show %q … %q, which begins a segment", p.lastFrame, p.start, p.end)
		} else {
			hidden++
		}
		if p.fromSwitch && p.code != "" {
			answered[p.tid] = p.code == "200"
		}
		if p.method == "SEND" && strings.HasSuffix(p.end, "+") {
			count[who+" SEND+"]++ // a chunk with more to follow
		}
	}
	// The clients sent 2 bodiless SENDs (bind), "hello bob", the private
	// "psst", the big message in at least 3 chunks and a NICKNAME, and the
	// switch answered each with 200. The switch relayed "hello bob", "psst"
	// and the big message in chunks, plus any notices.
	for key, least := range map[string]int{"client SEND": 7, "client NICKNAME": 1, "switch 200": 8,
		"client SEND+": 2, "switch SEND": 4, "switch SEND+": 1} {
		if count[key] < least {
			t.Errorf("%d %s in the MSRP payload, want at least %d", count[key], key, least)
		}
	}
	for _, p := range pdus {
		if !p.fromSwitch && p.method != "" && !answered[p.tid] {
			t.Errorf("the switch did not answer %q with 200", p.start)
		}
	}
	t.Logf("MSRP PDUs in the TCP payload: %v; shown by the dissector: %v; %d of %d PDUs follow another in their segment, which Wireshark's MSRP dissector does not show",
		count, dissected, hidden, len(pdus))
}
