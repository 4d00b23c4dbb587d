package sipcheck

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestCheckParsed(t *testing.T) {
	for _, tt := range []struct {
		name   string
		msg    string
		code   int
		reason string
	}{
		{"valid", request("BYE sip:lobby@example.com SIP/2.0", nil), 0, ""},
		{"no Call-ID", request("BYE sip:lobby@example.com SIP/2.0", []string{"Call-ID"}), 400, "Missing Call-ID"},
		{"no To", request("BYE sip:lobby@example.com SIP/2.0", []string{"To"}), 400, "Missing To"},
		{"no Max-Forwards", request("BYE sip:lobby@example.com SIP/2.0", []string{"Max-Forwards"}), 400, "Missing Max-Forwards"},
		{"CSeq of another method", request("BYE sip:lobby@example.com SIP/2.0", []string{"CSeq"}, "CSeq: 1 INVITE"), 400, "CSeq Method Mismatch"},
		{"SIP/3.0", request("BYE sip:lobby@example.com SIP/3.0", nil), 505, "Version Not Supported"},
	} {
		m, err := sip.ParseMessage([]byte(tt.msg))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if code, reason := CheckParsed(m.(*sip.Request)); code != tt.code || reason != tt.reason {
			t.Errorf("%s: %d %q, want %d %q", tt.name, code, reason, tt.code, tt.reason)
		}
	}
}
