package sipcheck

import "github.com/emiago/sipgo/sip"

// CheckParsed is the check of the mandatory header fields (RFC 3261
// §8.1.1) on a request sipgo has already parsed, for a request that did
// not come through Check: one on a connection the server opened itself
// (sipgo reads those directly). It returns 0 when the request may be
// handled, else the status code and reason phrase to answer; an ACK that
// fails is to be dropped, never answered.
func CheckParsed(req *sip.Request) (int, string) {
	switch {
	case req.SipVersion != "SIP/2.0":
		return 505, "Version Not Supported"
	case req.Via() == nil:
		return 400, "Missing Via"
	case req.From() == nil:
		return 400, "Missing From"
	case req.To() == nil:
		return 400, "Missing To"
	case req.CallID() == nil || len(*req.CallID()) == 0:
		return 400, "Missing Call-ID"
	case req.CSeq() == nil:
		return 400, "Missing CSeq"
	case req.MaxForwards() == nil:
		return 400, "Missing Max-Forwards"
	case req.CSeq().MethodName != req.Method:
		return 400, "CSeq Method Mismatch"
	}
	return 0, ""
}
