package focus

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Methods are the SIP methods the focus implements: the Allow of its
// answers, and what the server's SIP guard answers 405 (another method SIP
// knows) or 501 (an unknown one) for.
var Methods = []string{"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "SUBSCRIBE", "INFO", "MESSAGE"}

var allowMethods = strings.Join(Methods, ", ")

const (
	// acceptTypes: an INVITE carries SDP, alone or with a draft-niemi-00
	// nickname offer in multipart/mixed; INFO and MESSAGE carry nickname
	// offers (niemi-00 §4.3.2.1: Accept MUST list nickname-info+xml).
	acceptTypes = "application/sdp, multipart/mixed, application/nickname-info+xml"
)

// roomContact is our Contact for a room: the room URI at our address for
// the request's transport, with the isfocus feature tag (RFC 4579 §4.2).
// It is the room's canonical URI (issue 19): its own name at server.host,
// whichever alias or capitalisation the request used.
// Over TLS it is a sips URI at the TLS port with no transport parameter:
// sips is how SIP asks for TLS (RFC 3261 §26.2.2, which deprecates
// transport=tls), and a dialog created by a sips Request-URI must have a
// sips Contact (§12.1.1); a UA on TLS already resolves sips to TLS over TCP
// (RFC 3263 §4.1).
func (f *Focus) roomContact(roomName, transport string) *sip.ContactHeader {
	u := sip.Uri{Scheme: "sip", User: roomName, Host: f.cfg.Host, Port: f.cfg.Ports[strings.ToUpper(transport)]}
	switch t := strings.ToLower(transport); {
	case t == "tls":
		u.Scheme = "sips"
	case t == "ws" || t == "wss":
		// RFC 7118 §7: the URI transport value is "ws" for both; sips
		// says the WebSocket is secure (wss).
		if t == "wss" {
			u.Scheme = "sips"
		}
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", "ws")
	case t != "" && t != "udp":
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", t)
	}
	c := &sip.ContactHeader{Address: u, Params: sip.NewParams()}
	c.Params.Add("isfocus", "")
	return c
}

// addFocusHeaders adds what a focus advertises on 2xx to INVITE and OPTIONS
// (RFC 4579 §3.1, §4.3): Allow, Accept, Allow-Events: conference, Supported.
func addFocusHeaders(res *sip.Response) {
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sip.NewHeader("Accept", acceptTypes))
	res.AppendHeader(sip.NewHeader("Allow-Events", "conference"))
	res.AppendHeader(sip.NewHeader("Supported", ""))
}

// warning builds a Warning header (RFC 3261 §20.43) with code 399.
func (f *Focus) warning(text string) sip.Header {
	return sip.NewHeader("Warning", `399 `+f.cfg.Host+` "`+strings.ReplaceAll(text, `"`, `'`)+`"`)
}
