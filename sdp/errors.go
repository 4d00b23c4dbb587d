package sdp

import (
	"errors"
	"fmt"
)

// Sentinel errors that callers branch on with errors.Is.
var (
	// ErrEmpty: the body is empty or holds only whitespace.
	ErrEmpty = errors.New("sdp: empty session description")

	// ErrNoPath: an MSRP m-line has no a=path attribute (RFC 4975 §8.2).
	ErrNoPath = errors.New("sdp: no a=path attribute")

	// ErrInvalidPath wraps every a=path error: an unparsable URI (then the
	// error also wraps msrp.ErrInvalidURI), a URI without an explicit port,
	// or a repeated a=path attribute.
	ErrInvalidPath = errors.New("sdp: invalid a=path")

	// ErrNoAcceptTypes: an MSRP m-line has no a=accept-types attribute (RFC 4975 §8.6).
	ErrNoAcceptTypes = errors.New("sdp: no a=accept-types attribute")

	// ErrInvalidFormatList wraps every error of the RFC 4975 format-list
	// parser (a=accept-types, a=accept-wrapped-types).
	ErrInvalidFormatList = errors.New("sdp: invalid format list")

	// ErrInvalidMaxSize: a=max-size is not a decimal number of octets.
	ErrInvalidMaxSize = errors.New("sdp: invalid a=max-size")

	// ErrNotMSRP: the m-line is not "message" with proto TCP/MSRP or TCP/TLS/MSRP.
	ErrNotMSRP = errors.New("sdp: not an MSRP media line")

	// ErrMSRPFormats: an MSRP m-line whose format list is not the single "*"
	// that RFC 4975 §8 requires.
	ErrMSRPFormats = errors.New(`sdp: MSRP media format list must be "*"`)
)

// SyntaxError reports a session description that cannot be parsed. Line is
// the 1-based number of the offending line in the input (blank lines are
// counted), or 0 when the error concerns the description as a whole (a
// missing o= or s= line). Text is the offending line without its line ending.
type SyntaxError struct {
	Line   int
	Text   string
	Reason string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return "sdp: syntax error: " + e.Reason
	}
	text := e.Text
	if len(text) > 80 {
		text = text[:77] + "..."
	}
	return fmt.Sprintf("sdp: syntax error on line %d: %s: %q", e.Line, e.Reason, text)
}
