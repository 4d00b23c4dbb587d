package msrp

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	base := func(method string, extra ...Field) *Message {
		h := Header{{HeaderToPath, tPathB}, {HeaderFromPath, tPathA}}
		return &Message{TID: "abcd1234", Method: method, Header: append(h, extra...)}
	}
	withBody := func(m *Message, ct string, n int) *Message {
		m.Header.Add(HeaderContentType, ct)
		m.Body = []byte(strings.Repeat("x", n))
		return m
	}
	cases := []struct {
		name   string
		m      *Message
		header string // "" = valid
	}{
		{"bodiless SEND", base("SEND"), ""},
		{"SEND with body", withBody(base("SEND", Field{HeaderMessageID, "m1234"}), "text/plain", 5), ""},
		{"SEND body without Message-ID", withBody(base("SEND"), "text/plain", 5), HeaderMessageID},
		{"bad Message-ID", base("SEND", Field{HeaderMessageID, "m 1"}), HeaderMessageID},
		{"missing To-Path", &Message{TID: "abcd1234", Method: "SEND", Header: Header{{HeaderFromPath, tPathA}}}, HeaderToPath},
		{"bad From-Path", &Message{TID: "abcd1234", Method: "SEND", Header: Header{{HeaderToPath, tPathB}, {HeaderFromPath, "http://x"}}}, HeaderFromPath},
		{"To-Path without port", &Message{TID: "abcd1234", Method: "SEND", Header: Header{{HeaderToPath, "msrp://h/s;tcp"}, {HeaderFromPath, tPathA}}}, HeaderToPath},
		{"AUTH To-Path without port", &Message{TID: "abcd1234", Method: "AUTH", Header: Header{{HeaderToPath, "msrps://alice@relay.example.com;tcp"}, {HeaderFromPath, tPathA}}}, ""},
		{"twice To-Path", base("SEND", Field{HeaderToPath, tPathB}), HeaderToPath},
		{"bad Byte-Range", base("SEND", Field{HeaderByteRange, "0-1/1"}), HeaderByteRange},
		{"bad Success-Report", base("SEND", Field{HeaderSuccessReport, "maybe"}), HeaderSuccessReport},
		{"bad Failure-Report", base("SEND", Field{HeaderFailureReport, "sometimes"}), HeaderFailureReport},
		{"REPORT ok", base("REPORT", Field{HeaderMessageID, "m1234"}, Field{HeaderStatus, "000 200 OK"}), ""},
		{"REPORT without Status", base("REPORT", Field{HeaderMessageID, "m1234"}), HeaderStatus},
		{"REPORT bad Status", base("REPORT", Field{HeaderMessageID, "m1234"}, Field{HeaderStatus, "200"}), HeaderStatus},
		{"REPORT without Message-ID", base("REPORT", Field{HeaderStatus, "000 200 OK"}), HeaderMessageID},
		{"REPORT with Failure-Report", base("REPORT", Field{HeaderMessageID, "m1234"}, Field{HeaderStatus, "000 200 OK"}, Field{HeaderFailureReport, "no"}), HeaderFailureReport},
		{"NICKNAME ok", base("NICKNAME", Field{HeaderUseNickname, `"Al"`}), ""},
		{"NICKNAME without Use-Nickname", base("NICKNAME"), HeaderUseNickname},
		{"NICKNAME with Success-Report", base("NICKNAME", Field{HeaderUseNickname, `"Al"`}, Field{HeaderSuccessReport, "no"}), HeaderFailureReport},
		{"big non-SEND body", withBody(base("NICKNAME", Field{HeaderUseNickname, `"Al"`}), "text/plain", 10241), "-"},
		{"response", &Message{TID: "abcd1234", Code: 200, Header: Header{{HeaderToPath, tPathA}, {HeaderFromPath, tPathB}}}, ""},
	}
	for _, tc := range cases {
		err := tc.m.Validate()
		var he *HeaderError
		switch {
		case tc.header == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.header == "-" && !errors.As(err, &he):
			t.Errorf("%s: got %v, want a HeaderError", tc.name, err)
		case tc.header != "" && tc.header != "-" && (!errors.As(err, &he) || he.Header != tc.header):
			t.Errorf("%s: got %v, want a HeaderError about %s", tc.name, err, tc.header)
		}
	}
}

func TestTargetAndSourceURI(t *testing.T) {
	m := &Message{Header: Header{{HeaderToPath, "msrp://relay:1/r;tcp " + tPathB + " "}, {HeaderFromPath, tPathA}}}
	to, err := m.TargetURI()
	if err != nil || to.SessionID != "sessB" {
		t.Fatalf("TargetURI %+v %v", to, err)
	}
	from, err := m.SourceURI()
	if err != nil || from.SessionID != "sessA" {
		t.Fatalf("SourceURI %+v %v", from, err)
	}
	if _, err := (&Message{}).TargetURI(); err == nil {
		t.Error("missing To-Path accepted")
	}
}
