package server

import (
	"github.com/parley-im/parley/internal/conference"
	"github.com/parley-im/parley/internal/config"
	"github.com/parley-im/parley/internal/focus"
	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/room"
	"github.com/parley-im/parley/internal/switchboard"
	"github.com/parley-im/parley/msrp"
)

// switchAdapter gives the focus its view of the relay. Every session's
// Data is a switchboard.Attachment around the focus's handle.
type switchAdapter struct{ r *relay.Server }

func (a switchAdapter) OpenSession(peer []msrp.URI, handle any) (focus.Session, error) {
	sess, err := a.r.NewSession(peer, switchboard.NewAttachment(handle))
	if err != nil {
		return nil, err
	}
	return relaySession{sess}, nil
}

type relaySession struct{ *relay.Session }

// Close ends the session at the focus's request; the relay does not report
// it back through SessionEnded.
func (s relaySession) Close() { s.Session.Close(relay.CloseNormal) }

// rosters tells both the switch (routing, notices) and the conference
// event package who joins and leaves; room deletions and nicknames set
// over SIP (draft-niemi-00) concern the event package only.
type rosters struct {
	sw     *switchboard.Switch
	conf   *conference.Notifier
	linger *lingerer // nil without a store
}

func (r rosters) Joined(rm *room.Room, p *room.Participant) {
	r.sw.Joined(rm, p)
	r.conf.Joined(rm, p)
}

func (r rosters) Left(rm *room.Room, p *room.Participant) {
	r.sw.Left(rm, p)
	r.conf.Left(rm, p)
}

func (r rosters) RoomDeleted(rm *room.Room) {
	r.conf.RoomDeleted(rm)
	if r.linger != nil {
		r.linger.emptied(rm)
	}
}

func (r rosters) NicknameChanged(rm *room.Room, p *room.Participant, nick string) {
	r.conf.NicknameChanged(rm, p, nick)
}

// notifySender is the conference notifier's Sender: the focus, created
// after the notifier.
type notifySender struct{ s *Server }

func (n notifySender) SendNotify(handle any, note conference.Notify, done func(ok bool)) {
	n.s.focus.SendNotify(handle, note, done)
}

// policySource maps the configuration to the room registry's policies.
// The configuration is current()'s at each call: the admin API and reloads
// replace it (admin.go).
func policySource(current func() *config.Config) room.PolicySource {
	return func(name string) (room.Policy, bool, bool) {
		cfg := current()
		p, configured := cfg.RoomPolicy(name)
		if !configured && cfg.Rooms.Mode == config.ModeConfigured {
			return room.Policy{}, false, false
		}
		rp := room.Policy{
			Nicknames:                p.Nicknames,
			PrivateMessages:          p.PrivateMessages,
			MultiplePrivate:          p.MultiplePrivate,
			AcceptWrappedTypes:       p.AcceptWrappedTypes,
			MaxParticipants:          p.MaxParticipants,
			SystemMessages:           p.SystemMessages,
			RequireTLS:               p.RequireTLS,
			MaxMessage:               int64(cfg.MSRP.MaxMessage),
			History:                  p.History,
			HistoryMaxAge:            p.HistoryMaxAge.Std(),
			EmptyGrace:               p.EmptyGrace.Std(),
			DenyGuests:               p.Guests == config.GuestsDeny,
			WatchersParticipantsOnly: p.Watchers == config.WatchersParticipants,
			GuestsForeignOnly:        p.GuestURIs == config.GuestURIsForeign,
			Nick: room.NickPolicy{
				Allowed:    p.Nicknames,
				MaxBytes:   p.MaxNicknameBytes,
				Reserved:   p.ReservedNicknames,
				Quarantine: p.NicknameQuarantine.Std(),
			},
		}
		if p.NicknameScope == config.ScopeFocus {
			rp.Nick.Scope = room.ScopeFocus
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
