package confinfo

import "errors"

// Sentinel errors that callers branch on with errors.Is.
var (
	// ErrTooLarge: the input is longer than MaxDocumentSize.
	ErrTooLarge = errors.New("confinfo: document too large")

	// ErrSyntax wraps every error about malformed XML: what
	// encoding/xml rejects (the *xml.SyntaxError is wrapped too), text or a
	// second element outside the root, a DOCTYPE, nesting deeper than
	// MaxDepth.
	ErrSyntax = errors.New("confinfo: malformed XML")

	// ErrInvalid wraps every error about well-formed XML that breaks a rule:
	// the wrong root element or namespace, a bad state attribute, a
	// non-numeric number, a <media> without id, and every Validate error.
	ErrInvalid = errors.New("confinfo: invalid document")

	// ErrStaleVersion: Apply was given a document whose version is not
	// newer than the local one. RFC 4575 §4.6: discard it.
	ErrStaleVersion = errors.New("confinfo: stale version")

	// ErrVersionGap: Apply was given a partial document whose version is
	// more than one above the local one (or no full document was applied
	// yet). RFC 4575 §4.6: refresh the subscription to get full state.
	ErrVersionGap = errors.New("confinfo: version gap")
)
