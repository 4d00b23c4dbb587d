package sipcheck

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

var rules = Rules{Allow: []string{"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "SUBSCRIBE", "INFO", "MESSAGE"}}

// request builds a request with the usual mandatory fields, minus those
// named in drop, plus extra lines.
func request(start string, drop []string, extra ...string) string {
	method, _, _ := strings.Cut(start, " ")
	fields := []string{
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds",
		"Max-Forwards: 70",
		"To: Bob <sip:lobby@example.com>",
		"From: Alice <sip:alice@example.com>;tag=1928301774",
		"Call-ID: a84b4c76e66710@pc33.example.com",
		"CSeq: 314159 " + method,
		"Content-Length: 0",
	}
	var b strings.Builder
	b.WriteString(start + "\r\n")
next:
	for _, f := range fields {
		for _, d := range drop {
			if strings.HasPrefix(f, d+":") {
				continue next
			}
		}
		b.WriteString(f + "\r\n")
	}
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

func TestCheckRequests(t *testing.T) {
	const opt = "OPTIONS sip:lobby@example.com SIP/2.0"
	tests := []struct {
		name   string
		msg    string
		stream bool
		action Action
		code   int
		reason string
	}{
		{"valid", request(opt, nil), false, Pass, 0, ""},
		{"valid compact", "OPTIONS sip:lobby@example.com SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bKx\r\nf: <sip:a@h>;tag=1\r\nt: <sip:lobby@h>\r\ni: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 0\r\nl: 0\r\n\r\n", true, Pass, 0, ""},
		{"folded", request(opt, []string{"Call-ID"}, "Call-ID:", " folded@h"), false, Pass, 0, ""},
		{"ACK valid", request("ACK sip:lobby@example.com SIP/2.0", nil), false, Pass, 0, ""},
		{"no Via", request(opt, []string{"Via"}), false, Answer, 400, "Missing Via"},
		{"no From", request(opt, []string{"From"}), false, Answer, 400, "Missing From"},
		{"no To", request(opt, []string{"To"}), false, Answer, 400, "Missing To"},
		{"no Call-ID", request(opt, []string{"Call-ID"}), false, Answer, 400, "Missing Call-ID"},
		{"no CSeq", request(opt, []string{"CSeq"}), false, Answer, 400, "Missing CSeq"},
		{"no Max-Forwards", request(opt, []string{"Max-Forwards"}), false, Answer, 400, "Missing Max-Forwards"},
		{"INVITE no Call-ID", request("INVITE sip:lobby@example.com SIP/2.0", []string{"Call-ID"}), false, Answer, 400, "Missing Call-ID"},
		{"BYE no To", request("BYE sip:lobby@example.com SIP/2.0", []string{"To"}), false, Answer, 400, "Missing To"},
		{"SUBSCRIBE no To", request("SUBSCRIBE sip:lobby@example.com SIP/2.0", []string{"To"}, "Event: conference"), false, Answer, 400, "Missing To"},
		{"two Call-IDs", request(opt, nil, "Call-ID: other"), false, Answer, 400, "Duplicate Call-ID"},
		{"two CSeqs", request(opt, nil, "CSeq: 2 OPTIONS"), false, Answer, 400, "Duplicate CSeq"},
		{"bad CSeq number", request(opt, []string{"CSeq"}, "CSeq: x OPTIONS"), false, Answer, 400, "Bad CSeq"},
		{"CSeq too big", request(opt, []string{"CSeq"}, "CSeq: 2147483648 OPTIONS"), false, Answer, 400, "Bad CSeq"},
		{"CSeq without method", request(opt, []string{"CSeq"}, "CSeq: 1"), false, Answer, 400, "Bad CSeq"},
		{"CSeq method mismatch", request(opt, []string{"CSeq"}, "CSeq: 1 INVITE"), false, Answer, 400, "CSeq Method Mismatch"},
		{"CSeq method case", request(opt, []string{"CSeq"}, "CSeq: 1 options"), false, Answer, 400, "CSeq Method Mismatch"},
		{"bad Max-Forwards", request(opt, []string{"Max-Forwards"}, "Max-Forwards: many"), false, Answer, 400, "Bad Max-Forwards"},
		{"Max-Forwards 256", request(opt, []string{"Max-Forwards"}, "Max-Forwards: 256"), false, Answer, 400, "Bad Max-Forwards"},
		{"bad Via protocol", request(opt, []string{"Via"}, "Via: SIP/3.0/UDP h;branch=z9hG4bKx"), false, Answer, 400, "Bad Via"},
		{"Via without host", request(opt, []string{"Via"}, "Via: SIP/2.0/UDP"), false, Answer, 400, "Bad Via"},
		{"bad From", request(opt, []string{"From"}, "From: <sip:alice@example.com;tag=1"), false, Answer, 400, "Bad From"},
		{"Call-ID with space", request(opt, []string{"Call-ID"}, "Call-ID: a b"), false, Answer, 400, "Bad Call-ID"},
		{"empty Call-ID", request(opt, []string{"Call-ID"}, "Call-ID:"), false, Answer, 400, "Bad Call-ID"},
		{"bad Content-Length", request(opt, []string{"Content-Length"}, "Content-Length: -1"), false, Answer, 400, "Bad Content-Length"},
		{"short body", request(opt, []string{"Content-Length"}, "Content-Length: 10"), false, Answer, 400, "Bad Content-Length"},
		{"stream without Content-Length", request(opt, []string{"Content-Length"}), true, Answer, 400, "Missing Content-Length"},
		{"datagram without Content-Length", request(opt, []string{"Content-Length"}), false, Pass, 0, ""},
		{"bad Contact", request(opt, nil, "Contact: <sip:a@h"), false, Answer, 400, "Bad Contact"},
		{"line without colon", request(opt, nil, "Garbage"), false, Answer, 400, "Bad Header Line"},
		{"SIP/3.0", request("OPTIONS sip:lobby@example.com SIP/3.0", nil), false, Answer, 505, "Version Not Supported"},
		{"SIP/1.0", request("OPTIONS sip:lobby@example.com SIP/1.0", nil), false, Answer, 505, "Version Not Supported"},
		{"unknown method", request("FOO sip:lobby@example.com SIP/2.0", nil), false, Answer, 501, "Not Implemented"},
		{"lower-case method", request("options sip:lobby@example.com SIP/2.0", nil), false, Answer, 501, "Not Implemented"},
		{"REGISTER", request("REGISTER sip:example.com SIP/2.0", nil), false, Answer, 405, "Method Not Allowed"},
		{"tel URI", request("OPTIONS tel:+15551234 SIP/2.0", nil), false, Answer, 416, "Unsupported URI Scheme"},
		{"http URI", request("INVITE http://example.com/ SIP/2.0", nil), false, Answer, 416, "Unsupported URI Scheme"},
		{"bad Request-URI", request("OPTIONS sip: SIP/2.0", nil), false, Answer, 400, "Bad Request-URI"},
		{"Require", request(opt, nil, "Require: 100rel"), false, Answer, 420, "Bad Extension"},
		{"gzip body", request(opt, []string{"Content-Length"}, "Content-Encoding: gzip", "Content-Type: text/plain", "Content-Length: 2") + "hi", false, Answer, 415, "Unsupported Media Type"},
		{"compact e", request(opt, []string{"Content-Length"}, "e: deflate", "Content-Length: 2") + "hi", false, Answer, 415, "Unsupported Media Type"},
		{"identity body", request(opt, []string{"Content-Length"}, "Content-Encoding: identity", "Content-Length: 2") + "hi", false, Pass, 0, ""},
		{"gzip without body", request(opt, nil, "Content-Encoding: gzip"), false, Pass, 0, ""},
		{"Require on ACK ignored", request("ACK sip:lobby@example.com SIP/2.0", nil, "Require: 100rel"), false, Pass, 0, ""},
		{"bad ACK dropped", request("ACK sip:lobby@example.com SIP/2.0", []string{"Call-ID"}), false, Drop, 400, "Missing Call-ID"},
		{"incomplete", "OPTIONS sip:lobby@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n", false, Answer, 400, "Incomplete Header Section"},
		{"garbage", "\x00\x01hello", false, Drop, 400, "Bad Request-Line"},
		{"two-part start line", "OPTIONS sip:lobby@example.com\r\n\r\n", false, Drop, 400, "Bad Request-Line"},
		{"version with space", request("OPTIONS sip:a@b SIP/2.0 x", nil), false, Answer, 400, "Bad Request-Line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rules
			r.Stream = tt.stream
			res := r.Check([]byte(tt.msg))
			if res.Action != tt.action || res.Code != tt.code || res.Reason != tt.reason {
				t.Fatalf("Check = %v %d %q, want %v %d %q", res.Action, res.Code, res.Reason, tt.action, tt.code, tt.reason)
			}
			switch res.Action {
			case Answer:
				checkAnswer(t, res, tt.msg)
			case Pass:
				checkPassed(t, tt.msg)
			}
		})
	}
}

// checkAnswer parses the answer as sipgo would on the other side: a
// response with the code and reason, the request's Via, From, Call-ID and
// CSeq copied, a To tag added.
func checkAnswer(t *testing.T, res Result, req string) {
	t.Helper()
	msg, err := sip.ParseMessage(res.Response)
	if err != nil {
		t.Fatalf("answer does not parse: %v\n%s", err, res.Response)
	}
	r, ok := msg.(*sip.Response)
	if !ok || r.StatusCode != res.Code || r.Reason != res.Reason {
		t.Fatalf("answer %q, want %d %s", r.StartLine(), res.Code, res.Reason)
	}
	for _, name := range []string{"Via", "Call-ID", "CSeq", "From"} {
		if strings.Contains(req, "\r\n"+name+": ") && r.GetHeader(name) == nil && res.Reason != "Bad "+name {
			t.Errorf("answer lacks the request's %s:\n%s", name, res.Response)
		}
	}
	if to := r.To(); to != nil && !to.Params.Has("tag") {
		t.Errorf("answer's To has no tag: %s", res.Response)
	}
	switch res.Code {
	case 405:
		if h := r.GetHeader("Allow"); h == nil || !strings.Contains(h.Value(), "INVITE") {
			t.Errorf("405 without Allow: %s", res.Response)
		}
	case 420:
		if h := r.GetHeader("Unsupported"); h == nil || h.Value() != "100rel" {
			t.Errorf("420 without Unsupported: 100rel: %s", res.Response)
		}
	case 415:
		if h := r.GetHeader("Accept-Encoding"); h == nil || h.Value() != "identity" {
			t.Errorf("415 without Accept-Encoding: identity: %s", res.Response)
		}
	}
}

// checkPassed: what passes, sipgo parses, and every field a handler
// relies on is there.
func checkPassed(t *testing.T, msg string) {
	t.Helper()
	m, err := sip.ParseMessage([]byte(msg))
	if err != nil {
		t.Fatalf("passed, but sipgo does not parse it: %v", err)
	}
	req := m.(*sip.Request)
	if req.Via() == nil || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil || req.MaxForwards() == nil {
		t.Fatalf("passed without a mandatory field: %s", msg)
	}
	if req.CSeq().MethodName != req.Method {
		t.Fatalf("passed with CSeq %s for %s", req.CSeq().MethodName, req.Method)
	}
}

func TestCheckResponses(t *testing.T) {
	ok := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n"
	if res := rules.Check([]byte(ok)); res.Action != Pass {
		t.Fatalf("valid response: %v %q", res.Action, res.Reason)
	}
	for _, bad := range []string{
		strings.Replace(ok, "Call-ID: c\r\n", "", 1),
		strings.Replace(ok, "CSeq: 1 NOTIFY", "CSeq: one NOTIFY", 1),
		strings.Replace(ok, "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n", "", 1),
		strings.Replace(ok, "SIP/2.0 200 OK", "SIP/2.0 2x0 OK", 1),
		"SIP/2.0 200 OK\r\n",
	} {
		if res := rules.Check([]byte(bad)); res.Action != Drop || res.Response != nil {
			t.Errorf("malformed response %q: %v, want Drop without an answer", bad, res.Action)
		}
	}
}

func TestAnswerKeepsToTag(t *testing.T) {
	msg := request("BYE sip:lobby@example.com SIP/2.0", []string{"To", "Max-Forwards"}, "To: <sip:lobby@example.com>;tag=abc")
	res := rules.Check([]byte(msg))
	if res.Code != 400 {
		t.Fatalf("got %d", res.Code)
	}
	if !strings.Contains(string(res.Response), "To: <sip:lobby@example.com>;tag=abc\r\n") {
		t.Fatalf("To rewritten: %s", res.Response)
	}
}

func TestRefuse(t *testing.T) {
	head := request("INVITE sip:lobby@example.com SIP/2.0", nil)
	if res := Refuse([]byte(head), 513, "Message Too Large"); !strings.HasPrefix(string(res), "SIP/2.0 513 Message Too Large\r\n") {
		t.Fatalf("Refuse: %q", res)
	}
	for _, head := range []string{
		request("ACK sip:lobby@example.com SIP/2.0", nil),
		"SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n",
		"garbage\r\n\r\n",
	} {
		if res := Refuse([]byte(head), 400, "Bad Content-Length"); res != nil {
			t.Errorf("Refuse(%q) = %q, want nil", head, res)
		}
	}
}
