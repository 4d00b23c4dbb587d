package sipcheck

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// BenchmarkCheck: the cost the SIP guard adds to each request, for an
// INVITE with its SDP offer as a real client sends it.
func BenchmarkCheck(b *testing.B) {
	msg := benchInvite()
	if res := rules.Check(msg); res.Action != Pass {
		b.Fatalf("%v %s", res.Action, res.Reason)
	}
	b.Run("Check", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			rules.Check(msg)
		}
	})
	b.Run("Received", func(b *testing.B) {
		b.ReportAllocs()
		src := netip.MustParseAddr("127.0.0.1")
		var dst []byte
		for b.Loop() {
			dst = Received(dst[:0], msg, src)
		}
	})
}

// BenchmarkSipgoParse is sipgo's own parse of the same INVITE, which every
// request costs anyway: the scale for BenchmarkCheck.
func BenchmarkSipgoParse(b *testing.B) {
	msg := benchInvite()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sip.ParseMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// benchInvite is an INVITE with an SDP offer, as a real client sends it.
func benchInvite() []byte {
	sdp := "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 7654 TCP/MSRP *\r\n" +
		"a=accept-types:message/cpim\r\na=path:msrp://127.0.0.1:7654/abc;tcp\r\n"
	return append([]byte(request("INVITE sip:lobby@example.com SIP/2.0", []string{"Content-Length"},
		"Contact: <sip:alice@192.0.2.1:5060;transport=tcp>", "Content-Type: application/sdp",
		"Content-Length: "+strconv.Itoa(len(sdp)))), sdp...)
}
