package msrp

// Status codes of RFC 4975 §10, RFC 4976 and RFC 7701 §10.3.
const (
	StatusOK                    = 200
	StatusBadRequest            = 400 // request unintelligible
	StatusUnauthorized          = 401 // RFC 4976 (relays)
	StatusForbidden             = 403 // action not allowed
	StatusRecipientNotFound     = 404 // RFC 7701: failure to resolve recipient's URI
	StatusTimeout               = 408 // downstream transaction timeout (relays only)
	StatusStopSending           = 413 // stop sending this message
	StatusUnsupportedMedia      = 415 // media type not understood
	StatusOutOfBounds           = 423 // parameter out of bounds
	StatusMalformedNickname     = 424 // RFC 7701
	StatusNicknameInUse         = 425 // RFC 7701
	StatusPrivateNotSupported   = 428 // RFC 7701
	StatusSessionDoesNotExist   = 481
	StatusMethodNotUnderstood   = 501
	StatusSessionAlreadyInUse   = 506 // session already bound to another connection
	statusNamespaceNone         = "000"
	maxNonSendBody              = 10240 // RFC 4975 §7.1: non-SEND request bodies
	defaultReportCommentUnknown = "Unknown"
)

// StatusText returns the reason phrase parley sends with code. The RFC 7701
// codes use the descriptions of the IANA registry verbatim; the RFC 4975
// codes use the short phrases common among implementations. Reason phrases
// are informational: peers act on the three-digit code only.
func StatusText(code int) string {
	switch code {
	case StatusOK:
		return "OK"
	case StatusBadRequest:
		return "Request unintelligible"
	case StatusUnauthorized:
		return "Unauthorized"
	case StatusForbidden:
		return "Action not allowed"
	case StatusRecipientNotFound:
		return "Failure to resolve recipient's URI"
	case StatusTimeout:
		return "Downstream transaction timeout"
	case StatusStopSending:
		return "Stop sending message"
	case StatusUnsupportedMedia:
		return "Media type not understood"
	case StatusOutOfBounds:
		return "Parameter out of bounds"
	case StatusMalformedNickname:
		return "Malformed nickname"
	case StatusNicknameInUse:
		return "Nickname reserved or already in use"
	case StatusPrivateNotSupported:
		return "Private messages not supported"
	case StatusSessionDoesNotExist:
		return "Session does not exist"
	case StatusMethodNotUnderstood:
		return "Method not understood"
	case StatusSessionAlreadyInUse:
		return "Session already bound to another connection"
	}
	return defaultReportCommentUnknown
}
