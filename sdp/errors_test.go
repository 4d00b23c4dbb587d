package sdp

import (
	"strings"
	"testing"
)

func TestSyntaxErrorString(t *testing.T) {
	e := &SyntaxError{Line: 3, Text: "m=x", Reason: "bad"}
	if got, want := e.Error(), `sdp: syntax error on line 3: bad: "m=x"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &SyntaxError{Reason: "missing o= line"}
	if got, want := e.Error(), "sdp: syntax error: missing o= line"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	long := &SyntaxError{Line: 1, Text: strings.Repeat("x", 200), Reason: "r"}
	if n := len(long.Error()); n > 120 {
		t.Errorf("long line not truncated: %d bytes", n)
	}
}
