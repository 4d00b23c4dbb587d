package switchboard

import (
	"strconv"

	"github.com/parley-im/parley/internal/rate"
	"github.com/parley-im/parley/msrp"
)

// Messages per participant per second (issue 17). Each bound session has
// a token bucket of Config.MessagesBurst tokens refilled at
// Config.MessagesPerSecond a second (internal/rate, GCRA: one TAT). A SEND
// that starts a message (its first chunk, Byte-Range starting at 1) takes a
// token; later chunks of the message take none. Without a token the SEND
// is answered 403 with a reason phrase (RFC 4975 §7.2: the action is not
// allowed; the relay's 403s for limits are alike), nothing of it is
// relayed, and its later chunks get 413 like those of any message the
// switch does not track. The first refusal of an episode also sends the
// participant, and nobody else, a system notice saying it is sending too
// fast (when the room sends system messages); the episode ends when a
// message is admitted with the bucket at least half full again, so a
// sender that keeps pushing at twice the rate is told once, not once per
// refusal. Refusals are counted in Stats.RefusedRate (and Refused).
//
// The bucket belongs to the link and is touched only by its session's
// read goroutine, next to the fields that goroutine writes for every
// message anyway (the routing scratch): no lock, no allocation, no cache
// line shared with another sender. The TAT is an atomic only so that a
// member's new link, when a re-INVITE moves its session, starts from the
// old one's bucket instead of a full one (moving cannot reset the rate);
// on amd64 its load is a plain load and its store an XCHG on a cache line
// the goroutine already holds.
//
// A session whose connection comes from a Config.RateExempt source (the
// loopback interface in the default configuration: local tools and
// benchmarks) is not held to it.

// reasonTooFast is the reason phrase of the 403.
const reasonTooFast = "Sending too fast"

// SetMessageRate sets the messages per second and burst every participant
// is held to (0: no limit), for the next message of every bound session
// (issue 18's reload). A bucket keeps its state (TAT) across a change.
func (s *Switch) SetMessageRate(perSecond, burst int) {
	l := rate.New(perSecond, burst)
	s.msgRate.Store(&l)
}

// rateLink sets up l's bucket before l is published: off for an exempt
// source, and the TAT of prev, the member's link before it (nil: none),
// so that moving a session does not refill its bucket. Whether a limit is
// on at all is asked at each message (takeMessage): a reload may turn it
// on or off.
func (s *Switch) rateLink(l, prev *link) {
	a := l.sess.RemoteAddr()
	for _, p := range s.cfg.RateExempt {
		if p.Contains(a) {
			return
		}
	}
	l.rateOn = true
	if prev != nil {
		l.tat.Store(prev.tat.Load())
	}
}

// takeMessage counts one message of l against its rate, or reports false
// when l has no token. Only on l's read goroutine.
func (s *Switch) takeMessage(l *link) bool {
	lim := s.msgRate.Load()
	if !lim.On() {
		return true
	}
	now := int64(s.cfg.Now().Sub(s.epoch))
	next, _, ok := lim.Take(l.tat.Load(), now)
	if !ok {
		return false
	}
	l.tat.Store(next)
	if l.told && lim.AtLeastHalf(next, now) {
		l.told = false // the episode is over
	}
	return true
}

// refuseRate answers msg 403 (it starts a message over l's rate), counts
// it, tells the participant once per episode and returns 0 for
// HandleRequest. Only on l's read goroutine.
func (s *Switch) refuseRate(l *link, msg *msrp.Message) int {
	s.stats.refusedRate.Add(1)
	s.stats.refused.Add(1)
	if msg.WantsResponse(msrp.StatusForbidden) {
		_ = l.send(msg.Response(msrp.StatusForbidden, reasonTooFast))
	}
	if !l.told {
		l.told = true
		s.noticeTooFast(l)
	}
	return 0
}

// noticeTooFast tells l's participant, and only it, that its messages are
// being refused for its rate.
func (s *Switch) noticeTooFast(l *link) {
	m := l.m
	// Debug: an abuser makes one episode every few seconds per session;
	// Stats.RefusedRate counts them all.
	s.log.Debug("participant sending too fast: messages refused", "room", m.rs.rm.Name, "session", l.sess.ID(),
		"messages_per_second", s.cfg.MessagesPerSecond)
	if !m.rs.rm.Policy().SystemMessages {
		return
	}
	l.flush() // the 403 goes first: the notice is queued directly
	text := "You are sending too fast: messages over " + strconv.Itoa(s.cfg.MessagesPerSecond) +
		" a second are refused (403) until you slow down."
	if s.sendNotice(l, s.noticeBody(m.p.RoomURI, text), true) == nil {
		s.stats.notices.Add(1)
	}
}
