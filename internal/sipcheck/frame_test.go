package sipcheck

import (
	"errors"
	"strings"
	"testing"
)

func TestFrame(t *testing.T) {
	msg := request("OPTIONS sip:a@b SIP/2.0", []string{"Content-Length"}, "Content-Length: 4") + "body"
	tests := []struct {
		name       string
		in         string
		skip, n    int
		err        error
		maxMessage int
	}{
		{"whole", msg, 0, len(msg), nil, 1000},
		{"two pipelined", msg + msg, 0, len(msg), nil, 1000},
		{"keepalive first", "\r\n\r\n" + msg, 4, len(msg), nil, 1000},
		{"header incomplete", msg[:20], 0, 0, nil, 1000},
		{"body incomplete", msg[:len(msg)-1], 0, 0, nil, 1000},
		{"only CRLF", "\r\n", 2, 0, nil, 1000},
		{"no Content-Length", request("OPTIONS sip:a@b SIP/2.0", []string{"Content-Length"}) + "x", 0, len(request("OPTIONS sip:a@b SIP/2.0", []string{"Content-Length"})), nil, 1000},
		{"compact l", strings.Replace(msg, "Content-Length:", "l:", 1), 0, len(msg) - len("Content-Length") + 1, nil, 1000},
		{"bad length", strings.Replace(msg, "Content-Length: 4", "Content-Length: four", 1), 0, len(msg) - 4 + 3, ErrBadLength, 1000},
		{"conflicting lengths", strings.Replace(msg, "Content-Length: 4", "Content-Length: 4\r\nl: 5", 1), 0, len(msg) - 4 + 6, ErrBadLength, 1000},
		{"header too large", strings.Repeat("x", 200), 0, 0, ErrTooLarge, 100},
		{"body too large", strings.Replace(msg, "Content-Length: 4", "Content-Length: 99999", 1), 0, len(msg) - 4 + 4, ErrTooLarge, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skip, n, err := Frame([]byte(tt.in), tt.maxMessage)
			if skip != tt.skip || n != tt.n || !errors.Is(err, tt.err) {
				t.Fatalf("Frame = %d, %d, %v; want %d, %d, %v", skip, n, err, tt.skip, tt.n, tt.err)
			}
		})
	}
}
