package sipcheck

import (
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzCheck is the SIP entry point's fuzz target: whatever the bytes,
// Check does not panic; what it passes, sipgo parses into a request (or a
// response) with every mandatory field a handler relies on; what it
// answers is a response sipgo parses, with the code and reason of the
// verdict; a response or ACK is never answered; and Frame, given the same
// bytes as a stream, cuts a message within them or asks for more.
func FuzzCheck(f *testing.F) {
	seeds := []string{
		request("OPTIONS sip:lobby@example.com SIP/2.0", nil),
		request("INVITE sip:lobby@example.com SIP/2.0", []string{"Call-ID"}),
		request("INVITE sip:lobby@example.com SIP/2.0", []string{"To"}),
		request("SUBSCRIBE sip:lobby@example.com SIP/2.0", []string{"To"}, "Event: conference"),
		request("ACK sip:lobby@example.com SIP/2.0", []string{"CSeq"}, "CSeq: 1 INVITE"),
		request("OPTIONS sip:lobby@example.com SIP/3.0", nil),
		request("OPTIONS tel:+1555 SIP/2.0", nil, "Require: 100rel"),
		request("BYE sip:lobby@example.com SIP/2.0", []string{"CSeq"}, "CSeq: 1x BYE"),
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n",
		"\r\n\r\n",
		"INVITE sip:a@b SIP/2.0\r\nv: SIP/2.0/TCP h\r\nf: <sip:x@y>\r\nt: <sip:a@b>\r\ni: 1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 1\r\nl: 3\r\nContent-Type: application/sdp\r\n\r\nv=0",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, msg []byte, stream bool) {
		r := rules
		r.Stream = stream
		res := r.Check(msg)
		switch res.Action {
		case Pass:
			m, err := sip.ParseMessage(msg)
			if err != nil {
				t.Fatalf("passed, sipgo refuses it: %v", err)
			}
			if req, ok := m.(*sip.Request); ok {
				if req.Via() == nil || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil || req.MaxForwards() == nil {
					t.Fatalf("passed without a mandatory field")
				}
				if req.CSeq().MethodName != req.Method {
					t.Fatalf("passed with CSeq method %q for %q", req.CSeq().MethodName, req.Method)
				}
				// Stamped with its source, it still passes, and its top
				// Via sends answers to the source and nowhere else.
				src := netip.MustParseAddr("127.0.0.1")
				stamped := Received(nil, msg, src)
				if res := r.Check(stamped); res.Action != Pass {
					t.Fatalf("stamped with received, refused: %s\n%q", res.Reason, stamped)
				}
				sm, err := sip.ParseMessage(stamped)
				if err != nil {
					t.Fatalf("stamped: %v", err)
				}
				via := sm.(*sip.Request).Via()
				rcv, ok := via.Params.Get("received")
				changed := string(stamped) != string(msg)
				if changed && (ok && rcv != "127.0.0.1" || !ok && via.Host != "127.0.0.1") {
					t.Fatalf("stamped Via %q", via.Value())
				}
			} else {
				res := m.(*sip.Response)
				if res.Via() == nil || res.CSeq() == nil || res.CallID() == nil {
					t.Fatalf("passed a response without Via, CSeq or Call-ID")
				}
			}
		case Answer:
			m, err := sip.ParseMessage(res.Response)
			if err != nil {
				t.Fatalf("answer does not parse: %v\n%q", err, res.Response)
			}
			ans, ok := m.(*sip.Response)
			if !ok || ans.StatusCode != res.Code {
				t.Fatalf("answer %q is not a %d", res.Response, res.Code)
			}
			if in, err := sip.ParseMessage(msg); err == nil {
				if req, ok := in.(*sip.Request); !ok || req.Method == sip.ACK {
					t.Fatalf("answered a response or an ACK")
				}
			}
		case Drop:
			if res.Response != nil {
				t.Fatalf("dropped with an answer")
			}
		}
		skip, n, err := Frame(msg, len(msg))
		if skip+n > len(msg) || (err == nil && n > 0 && skip+n < skip) {
			t.Fatalf("Frame cut %d+%d of %d", skip, n, len(msg))
		}
	})
}
