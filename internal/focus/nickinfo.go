package focus

import (
	"github.com/emiago/sipgo/sip"

	"github.com/parley-im/parley/confinfo"
)

// onInfo answers an INFO: a draft-niemi-00 nickname-info offer inside a
// participant's dialog (onNicknameRequest). An INFO without a body is a
// keepalive (RFC 2976 usage) and gets 200.
func (f *Focus) onInfo(req *sip.Request, tx sip.ServerTransaction) { f.onNicknameRequest(req, tx) }

// onMessage answers a MESSAGE: a draft-niemi-00 nickname-info offer inside
// a participant's dialog (onNicknameRequest). The focus relays no instant
// messages over SIP: chat goes over MSRP.
func (f *Focus) onMessage(req *sip.Request, tx sip.ServerTransaction) { f.onNicknameRequest(req, tx) }

// onNicknameRequest handles an in-dialog INFO or MESSAGE carrying an
// application/nickname-info+xml offer (draft-niemi-00 §4.3.2): 481 outside
// a dialog (a MESSAGE without To tag included), 500 for a CSeq out of order
// (as BYE), 415 with Accept for any other body, 400 with a Warning for a
// document that does not parse or is no valid offer (ValidateOffer), or an
// offer older than our last answer; else 200 carrying the answer
// (answerNicknames) as application/nickname-info+xml.
//
// RFC 3428 §7 says a 2xx to MESSAGE carries no body; the answer is in it
// all the same, as for INFO, so that both carriers work alike.
func (f *Focus) onNicknameRequest(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && !to.Params.Has("tag") {
		// Outside a dialog: who sends it is checked as for an INVITE
		// (issue 17: an account's URI is challenged) before the 481.
		pol, _ := f.cfg.Rooms.Lookup(req.Recipient.User)
		if _, ok := f.authenticate(req, tx, pol); !ok {
			return
		}
	}
	d := f.liveDialog(req, tx)
	if d == nil {
		return
	}
	d.mu.Lock()
	rm, p := d.room, d.participant
	d.mu.Unlock()
	if rm == nil || p == nil {
		f.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	body := req.Body()
	if req.Method == sip.INFO && len(body) == 0 {
		f.respond(tx, req, 200, "OK")
		return
	}
	if mt, _ := contentType(req.ContentType()); mt != confinfo.NicknameMIMEType {
		res := sip.NewResponseFromRequest(req, 415, "Unsupported Media Type", nil)
		res.AppendHeader(sip.NewHeader("Accept", confinfo.NicknameMIMEType))
		f.send(tx, res)
		return
	}
	offer, err := parseNicknameOffer(body)
	if err != nil {
		f.send(tx, f.badNicknameOffer(req, err))
		return
	}
	ans, changed, err := f.answerNicknames(d, rm, p, offer)
	if err != nil {
		f.send(tx, f.badNicknameOffer(req, err))
		return
	}
	if changed {
		f.nicknameChanged(rm, p) // before the 200, as the switch does for NICKNAME
	}
	f.send(tx, f.withNicknameAnswer(req, ans, func(doc []byte) *sip.Response {
		res := sip.NewResponseFromRequest(req, 200, "OK", doc)
		if doc != nil {
			res.AppendHeader(sip.NewHeader("Content-Type", confinfo.NicknameMIMEType))
		} else {
			res.AppendHeader(f.warning("nickname-info answer too large for UDP; offer again over TCP"))
		}
		return res
	}))
	f.log.Debug("nickname-info answered", "room", rm.Name, "participant", d.identity, "method", req.Method, "version", ans.Version)
}

// withNicknameAnswer returns build(doc) for doc the nickname-info answer
// ans as the body of a SIP message (nicknameBody), fitted to what sipgo
// sends over UDP (sip.UDPMTUSize-200 octets: RFC 3261 §18.1.1's 1300 unless
// raised, see ua.go) when req came over UDP.
func (f *Focus) withNicknameAnswer(req *sip.Request, ans *confinfo.NicknameInfo, build func(doc []byte) *sip.Response) *sip.Response {
	limit := 0 // none
	if !sip.IsReliable(req.Transport()) {
		limit = sip.UDPMTUSize - 200
	}
	return f.fitNicknameAnswer(limit, ans, build)
}

// fitNicknameAnswer returns build(doc) for the answer ans. When the
// message is over limit octets (0: no limit), the answer loses its
// "available" suggestions, the last first, and when it still does not fit
// it is left out: build(nil). Its decision stands; the participant learns
// it by offering again (over TCP, or in INFO, whose 200 is smaller than a
// 200 to INVITE) or from the conference event package.
func (f *Focus) fitNicknameAnswer(limit int, ans *confinfo.NicknameInfo, build func(doc []byte) *sip.Response) *sip.Response {
	for keep := suggestionCount(ans); keep >= 0; keep-- {
		doc, err := nicknameBody(ans, keep)
		if err != nil { // cannot happen: every string in it is valid XML text
			f.log.Error("nickname-info answer not marshalled", "error", err)
			break
		}
		if res := build(doc); limit == 0 || len(res.String()) <= limit {
			return res
		}
	}
	f.log.Info("nickname-info answer left out: too large for UDP", "limit", limit)
	return build(nil)
}

// parseNicknameOffer parses and checks a participant's nickname-info
// document (draft-niemi-00 §4.3.2.1).
func parseNicknameOffer(body []byte) (*confinfo.NicknameInfo, error) {
	offer, err := confinfo.ParseNicknameInfo(body)
	if err != nil {
		return nil, err
	}
	if err := offer.ValidateOffer(); err != nil {
		return nil, err
	}
	return offer, nil
}

// badNicknameOffer is the 400 to a nickname-info offer we cannot answer.
func (f *Focus) badNicknameOffer(req *sip.Request, err error) *sip.Response {
	res := sip.NewResponseFromRequest(req, 400, "Bad Nickname Offer", nil)
	res.AppendHeader(f.warning(err.Error()))
	return res
}
