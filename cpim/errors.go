package cpim

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors that callers branch on with errors.Is.
var (
	// ErrIncomplete: the input ends before the blank line that closes the
	// encapsulated MIME header block. Wait for more bytes, then parse again.
	ErrIncomplete = errors.New("cpim: incomplete header block")

	// ErrMissingHeader: a required header is absent (From, To, or the
	// encapsulated Content-Type). Carried inside a *HeaderError.
	ErrMissingHeader = errors.New("cpim: missing header")

	// ErrRepeatedHeader: a header that must not repeat occurs more than once
	// (RFC 3862 §3, RFC 4975 §13). Carried inside a *HeaderError.
	ErrRepeatedHeader = errors.New("cpim: repeated header")

	// ErrInvalidAddress wraps every From, To and cc value that does not match
	// [ Formal-name ] "<" URI ">".
	ErrInvalidAddress = errors.New("cpim: invalid address")

	// ErrInvalidValue wraps other header values that do not parse (DateTime,
	// NS, an empty Content-Type).
	ErrInvalidValue = errors.New("cpim: invalid header value")
)

// SyntaxError reports a header line that cannot be read: a line without a
// colon, a bad header name, a control character.
type SyntaxError struct {
	Line   int    // 1-based line number within the CPIM object
	Reason string // what was wrong
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("cpim: line %d: %s", e.Line, e.Reason)
}

// HeaderError reports a problem with one named header: it is missing,
// repeated, or its value does not parse. Err is one of the sentinels above,
// possibly wrapped with detail.
type HeaderError struct {
	Name string // header name as it appears on the wire, e.g. "From"
	Err  error
}

func (e *HeaderError) Error() string {
	return "cpim: " + e.Name + " header: " + strings.TrimPrefix(e.Err.Error(), "cpim: ")
}

func (e *HeaderError) Unwrap() error { return e.Err }

func headerErr(name string, err error) error { return &HeaderError{Name: name, Err: err} }

func invalidAddress(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidAddress, reason)
}

func invalidValue(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidValue, reason)
}
