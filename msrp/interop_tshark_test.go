package msrp_test

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/pcaptest"
	"github.com/parley-im/parley/msrp"
	"github.com/parley-im/parley/msrp/msrptest"
)

// TestTsharkDecodesWriterOutput writes a capture of messages produced by our
// Writer (requests, responses, REPORT, NICKNAME, bodiless and chunked SENDs,
// fan-out Envelopes, several PDUs pipelined in one TCP segment) and has
// Wireshark's MSRP dissector decode it. Every PDU must be recognised with
// the start line and end-line we wrote, and tshark must report no malformed
// packet and no expert warning or error.
//
// Each PDU travels in its own TCP segment: Wireshark 4.0's MSRP dissector
// decodes only the first PDU of a segment that carries several (observed
// with our pipelined frames, whose bytes decode fine one per segment).
//
// tshark comes from the Debian package (.ci/run installs it). Without it the
// test fails in CI (CI set) and is skipped on a developer machine.
func TestTsharkDecodesWriterOutput(t *testing.T) {
	tshark := pcaptest.Tshark(t)
	client := msrp.MustParseURI("msrp://client.example.com:40000/cli9sess;tcp")
	server := msrp.MustParseURI("msrp://chat.example.com:2855/srv7sess;tcp")

	type pdu struct {
		fromClient bool
		wire       []byte
		start, end string // start line and end-line as written
	}
	var pdus []pdu
	addWire := func(fromClient bool, wire []byte) {
		lines := strings.Split(string(wire), "\r\n")
		pdus = append(pdus, pdu{fromClient, wire, lines[0], lines[len(lines)-2]})
	}
	add := func(fromClient bool, m *msrp.Message) { addWire(fromClient, m.Bytes()) }

	bind := msrptest.Bodiless(server, client)
	add(true, bind)
	add(false, bind.Response(msrp.StatusOK, ""))
	cpim := msrptest.CPIM("sip:alice@example.com", "sip:room@chat.example.com", "Hello, room!")
	send := msrptest.Send(server, client, "message/cpim", cpim, msrptest.WithHeader(msrp.HeaderSuccessReport, "yes"))
	add(true, send)
	add(false, send.Response(msrp.StatusOK, ""))
	add(false, msrptest.Report(client, server, send.MessageID(), 200, msrp.ByteRange{Start: 1, End: int64(len(cpim)), Total: int64(len(cpim))}))
	nick := msrptest.Nickname(server, client, "Alice the great")
	add(true, nick)
	add(false, nick.Response(msrp.StatusNicknameInUse, ""))

	// a 5000-octet message in interruptible chunks
	big := bytes.Repeat([]byte("0123456789"), 500)
	c := msrp.NewChunker(big, 2500)
	mid := msrp.NewMessageID()
	for {
		r, data, flag, ok := c.Next()
		if !ok {
			break
		}
		m := &msrp.Message{TID: msrp.NewTID(), Method: msrp.MethodSEND, Flag: flag, Body: data, Header: msrp.Header{
			{Name: msrp.HeaderToPath, Value: server.String()}, {Name: msrp.HeaderFromPath, Value: client.String()},
			{Name: msrp.HeaderMessageID, Value: mid}, {Name: msrp.HeaderByteRange, Value: r.String()},
			{Name: msrp.HeaderContentType, Value: "text/plain"}}}
		add(true, m)
		add(false, m.Response(msrp.StatusOK, ""))
	}
	// fan-out copies framed with Envelope, as the switch sends them
	env := msrp.Envelope{ToPath: client.String(), FromPath: server.String(), MessageID: msrp.NewMessageID(),
		FailureReport: "partial", ContentType: "message/cpim"}
	var ids msrp.IDSource
	for _, flag := range []byte{'+', '$'} {
		_, f := env.AppendFrame(nil, &ids, msrp.ByteRange{Start: 1, End: msrp.Unknown, Total: msrp.Unknown}, flag)
		addWire(false, slices.Concat(f.Head, cpim, f.End))
	}

	// a TCP handshake between 127.0.0.1:40000 and 127.0.0.2:2855, then
	// one segment per PDU
	capture := pcaptest.New()
	conn := capture.TCP(netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.2:2855"), true)
	for _, p := range pdus {
		conn.Send(p.fromClient, p.wire)
	}
	pcap := filepath.Join(t.TempDir(), "msrp.pcap")
	if err := capture.WriteFile(pcap); err != nil {
		t.Fatal(err)
	}

	out := pcaptest.RunTshark(t, tshark, "-r", pcap, "-d", "tcp.port==2855,msrp", "-Y", "msrp",
		"-T", "fields", "-E", "separator=|", "-E", "aggregator=;",
		"-e", "msrp.request.line", "-e", "msrp.response.line", "-e", "msrp.end.line")
	var got, want []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			t.Fatalf("unexpected tshark line %q", line)
		}
		got = append(got, f[0]+f[1]+" … "+f[2])
	}
	for _, p := range pdus {
		want = append(want, p.start+" … "+p.end)
	}
	if !slices.Equal(got, want) {
		t.Errorf("tshark decoded\n%s\nwe wrote\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	bad := pcaptest.RunTshark(t, tshark, "-r", pcap, "-d", "tcp.port==2855,msrp",
		"-Y", "_ws.malformed || _ws.expert.severity >= warning", "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message")
	if strings.TrimSpace(bad) != "" {
		t.Errorf("tshark reports malformed packets or expert warnings:\n%s", bad)
	}
}
