package msrp

import (
	"errors"
	"fmt"
)

// Sentinel errors that callers branch on with errors.Is.
var (
	// ErrInvalidURI wraps every URI and path parse error.
	ErrInvalidURI = errors.New("msrp: invalid URI")

	// ErrStartLineTooLong: the start line exceeded Limits.MaxStartLine. Fatal for the stream.
	ErrStartLineTooLong = errors.New("msrp: start line too long")

	// ErrHeaderTooLarge: the header section exceeded Limits.MaxHeaderBytes. Fatal for the stream.
	ErrHeaderTooLarge = errors.New("msrp: header section too large")

	// ErrChunkTooLarge: a body exceeded Limits.MaxChunk. The Reader skipped the
	// body up to its end-line and returns it inside a *MessageError, so the
	// stream stays usable and the request can be answered with 413.
	ErrChunkTooLarge = errors.New("msrp: chunk body too large")

	// ErrMessageTooLarge: a reassembled message would exceed its size cap (413).
	ErrMessageTooLarge = errors.New("msrp: message too large")

	// ErrAborted: the sender aborted the message with a "#" end-line.
	ErrAborted = errors.New("msrp: message aborted by sender")

	// ErrMalformedNickname: a Use-Nickname value that does not follow RFC 7701 §7.1 (424).
	ErrMalformedNickname = errors.New("msrp: malformed nickname")

	// ErrEndLineMismatch: an end-line-shaped line that cannot end the
	// message being read (RFC 4975 §7.1: "-------" transaction-id flag,
	// with the request's transaction id and a flag of $, + or #) stands
	// where its end-line should: a wrong transaction id after a bodiless
	// request or where Byte-Range says the body ends, or this transaction
	// id followed by another byte. Framing is lost. It comes wrapped in a
	// *SyntaxError, so it is fatal for the stream like any other.
	ErrEndLineMismatch = errors.New("msrp: end-line does not match its request")
)

// SyntaxError reports a framing violation after which the byte stream cannot
// be resynchronised (a bad start line, an end-line that is not followed by
// CRLF). The connection must be closed; it cannot be answered.
type SyntaxError struct {
	Offset int64  // stream offset of the offending byte
	Reason string // what was wrong
	Err    error  // the kind, when callers can branch on it (ErrEndLineMismatch), or nil
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("msrp: syntax error at offset %d: %s", e.Offset, e.Reason)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// MessageError reports a message that was framed correctly (its end-line was
// found, so the stream can continue) but could not be accepted as it is. Msg
// holds the start line and the headers that were parsed, enough to answer the
// request: 413 for ErrChunkTooLarge, 400 for a *HeaderError.
type MessageError struct {
	Msg *Message
	Err error
}

func (e *MessageError) Error() string {
	return fmt.Sprintf("msrp: message %s: %v", e.Msg.TID, e.Err)
}

func (e *MessageError) Unwrap() error { return e.Err }

// HeaderError reports a header section that does not follow RFC 4975: a line
// without a colon, a missing or malformed mandatory header, a Content-Type on
// a bodiless message, and so on. The request should be answered with 400.
type HeaderError struct {
	Header string // the header concerned, if any
	Reason string
}

func (e *HeaderError) Error() string {
	if e.Header == "" {
		return "msrp: bad header section: " + e.Reason
	}
	return fmt.Sprintf("msrp: bad %s header: %s", e.Header, e.Reason)
}

// StatusError is a peer's non-2xx answer to a request, from a response or a
// REPORT's Status header (like net/textproto.Error).
type StatusError struct {
	Code    int
	Comment string
}

func (e *StatusError) Error() string {
	if e.Comment == "" {
		return fmt.Sprintf("msrp: status %d %s", e.Code, StatusText(e.Code))
	}
	return fmt.Sprintf("msrp: status %d %s", e.Code, e.Comment)
}
