package server

import (
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/focus"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/msrp"
)

// switchAdapter gives the focus its view of the relay.
type switchAdapter struct{ r *relay.Server }

func (a switchAdapter) OpenSession(peer []msrp.URI, handle any) (focus.Session, error) {
	sess, err := a.r.NewSession(peer, handle)
	if err != nil {
		return nil, err
	}
	return relaySession{sess}, nil
}

type relaySession struct{ *relay.Session }

// Close ends the session at the focus's request; the relay does not report
// it back through SessionEnded.
func (s relaySession) Close() { s.Session.Close(relay.CloseNormal) }

// switchHandler receives the relay's events.
type switchHandler struct{ s *Server }

func (h *switchHandler) SessionBound(sess *relay.Session) {
	h.s.log.Debug("MSRP session bound", "session", sess.ID())
}

func (h *switchHandler) SessionEnded(sess *relay.Session, reason relay.CloseReason) {
	h.s.focus.SessionEnded(sess.Data(), sess.ID(), reason.String())
}

// HandleRequest answers the requests of bound sessions. Relaying SEND and
// NICKNAME between participants is the MSRP switch of issue 4; until it
// lands they are refused with 403 and every other method with 501.
func (h *switchHandler) HandleRequest(sess *relay.Session, msg *msrp.Message) int {
	switch msg.Method {
	case msrp.MethodREPORT:
		return 0 // never answered; recipients' reports are never forwarded (RFC 7701 §6.3)
	case msrp.MethodSEND, msrp.MethodNICKNAME:
		return msrp.StatusForbidden
	}
	return msrp.StatusMethodNotUnderstood
}

func (h *switchHandler) HandleResponse(*relay.Session, *msrp.Message) {}

// policySource maps the configuration to the room registry's policies.
func policySource(cfg *config.Config) room.PolicySource {
	return func(name string) (room.Policy, bool, bool) {
		p, configured := cfg.RoomPolicy(name)
		if !configured && cfg.Rooms.Mode == config.ModeConfigured {
			return room.Policy{}, false, false
		}
		rp := room.Policy{
			Nicknames:          p.Nicknames,
			PrivateMessages:    p.PrivateMessages,
			AcceptWrappedTypes: p.AcceptWrappedTypes,
			MaxParticipants:    p.MaxParticipants,
		}
		if rc := cfg.FindRoom(name); rc != nil {
			rp.Subject = rc.Subject
		}
		if d, err := room.ParseDeletePolicy(string(p.DeleteWhen)); err == nil {
			rp.DeleteWhen = d
		}
		return rp, configured, true
	}
}

func msrpLimits(l config.MSRPLimits) msrp.Limits {
	return msrp.Limits{MaxHeaderBytes: l.MaxHeaderBytes, MaxChunk: l.MaxChunk}
}
