package server

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parley-im/parley/internal/relay"
	"github.com/parley-im/parley/internal/store"
)

// Prometheus metrics (issue 18, docs/ADMIN.md, docs/OPERATIONS.md). Nothing
// is counted for them on the message path: a scrape reads the counters the
// pieces keep anyway (relay.Stats, switchboard.Stats, focus.Stats,
// conference.Stats, store.Stats, the SIP guard's) and turns them into
// constant metrics, so a metric costs nothing between scrapes and no
// delivery touches a cache line shared with another for them.

// Metrics returns a registry with the server's metrics and Go's runtime
// and process collectors, for the admin listener's /metrics.
func (s *Server) Metrics() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(serverCollector{s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

type serverCollector struct{ s *Server }

// desc makes the description of a parley_ metric.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("parley_"+name, help, labels, nil)
}

var (
	mRooms         = desc("rooms", "Rooms that exist now (live in the registry).")
	mParticipants  = desc("participants", "Participants in rooms now (bound MSRP sessions), by the transport of their MSRP connection.", "transport")
	mJoins         = desc("joins_total", "Participants admitted to a room (200 to an INVITE).")
	mLeaves        = desc("leaves_total", "Participants who left a room, for any reason.")
	mKicked        = desc("kicked_total", "Participants removed by an operator.")
	mRoomsDeleted  = desc("rooms_deleted_total", "Rooms deleted by an operator.")
	mSIPRequests   = desc("sip_requests_total", "SIP requests the focus handled, by method.", "method")
	mSIPResponses  = desc("sip_responses_total", "SIP responses the focus sent, by method and status code.", "method", "code")
	mSIPGuard      = desc("sip_guard_total", "SIP input the guard handled before the focus, by action.", "action")
	mAuth          = desc("auth_failures_total", "Requests authentication did not admit, by reason (challenged: 401; refused: 403; malformed: 400).", "reason")
	mDialogs       = desc("dialogs", "Live SIP dialogs of the focus.")
	mMSRPRequests  = desc("msrp_requests_total", "MSRP requests received on bound connections, by method.", "method")
	mMSRPResponses = desc("msrp_responses_total", "MSRP responses parleyd sent, by status code.", "code")
	mMSRPReceived  = desc("msrp_responses_received_total", "MSRP responses received from participants, by status code.", "code")
	mMSRPBytes     = desc("msrp_bytes_total", "Octets of MSRP read and written, by direction.", "direction")
	mMSRPConns     = desc("msrp_connections", "MSRP connections open now.")
	mMSRPAccepted  = desc("msrp_connections_accepted_total", "MSRP connections accepted.")
	mMSRPClosed    = desc("msrp_connections_closed_total", "MSRP connections closed, by reason.", "reason")
	mCongestion    = desc("congestion_closes_total", "MSRP connections closed because the participant read too slowly, by reason.", "reason")
	mMessages      = desc("messages_total", "Messages (SENDs, not chunks) accepted for distribution.")
	mChunks        = desc("chunks_total", "Chunks accepted.")
	mDeliveries    = desc("deliveries_total", "Chunk copies queued to recipients.")
	mDropped       = desc("dropped_copies_total", "Copies dropped for a congested recipient (RFC 7701 §6.4), by kind.", "kind")
	mRefused       = desc("refused_total", "SENDs and NICKNAMEs answered with an error, by reason.", "reason")
	mAborted       = desc("aborted_total", "Chunked messages aborted.")
	mNotices       = desc("notices_total", "System messages the rooms sent.")
	mTransfers     = desc("chunked_transfers", "Chunked messages in flight now.")
	mSubs          = desc("subscriptions", "Conference event subscriptions now.")
	mNotifies      = desc("notifies_total", "NOTIFYs sent to conference subscribers.")
	mNotifyBytes   = desc("notify_bytes_total", "Octets of conference documents sent in NOTIFYs.")
	mStored        = desc("messages_stored_total", "Regular messages the store acknowledged.")
	mNotStored     = desc("messages_not_stored_total", "Regular messages relayed but not kept: the store failed.")
	mReplayed      = desc("messages_replayed_total", "History messages sent to joining participants.")
	mStoreUp       = desc("store_available", "1 when the store takes appends, 0 when it does not (or there is none).")
	mStoreErrors   = desc("store_errors_total", "Store appends that failed.")
	mStorePending  = desc("store_pending", "Store appends and cursor writes in flight.")
	mStoreLatency  = desc("store_append_seconds", "Time from a store append to its acknowledgement.")
)

func (c serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mRooms, mParticipants, mJoins, mLeaves, mKicked, mRoomsDeleted, mSIPRequests, mSIPResponses,
		mSIPGuard, mAuth, mDialogs, mMSRPRequests, mMSRPResponses, mMSRPReceived, mMSRPBytes, mMSRPConns, mMSRPAccepted, mMSRPClosed,
		mCongestion, mMessages, mChunks, mDeliveries, mDropped, mRefused, mAborted, mNotices, mTransfers, mSubs, mNotifies,
		mNotifyBytes, mStored, mNotStored, mReplayed, mStoreUp, mStoreErrors, mStorePending, mStoreLatency} {
		ch <- d
	}
}

func (c serverCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}

	// Rooms and participants: a participant is a bound MSRP session (one
	// per dialog), counted by the relay per transport.
	rs := s.relay.Stats()
	gauge(mRooms, float64(s.rooms.Len()))
	for t, n := range rs.SessionsByTransport {
		gauge(mParticipants, float64(n), t)
	}

	// The focus: SIP.
	fs := s.focus.Stats()
	counter(mJoins, fs.Joins)
	counter(mLeaves, fs.Leaves)
	counter(mKicked, fs.Kicked)
	counter(mRoomsDeleted, fs.RoomsDeleted)
	for m, n := range fs.Requests {
		counter(mSIPRequests, n, m)
	}
	for k, n := range fs.Responses {
		counter(mSIPResponses, n, k.Method, strconv.Itoa(k.Code))
	}
	for r, n := range fs.Auth {
		counter(mAuth, n, r)
	}
	gauge(mDialogs, float64(fs.Dialogs))
	gs := s.guard.stats()
	for a, n := range map[string]uint64{"answered": gs.Answered, "dropped": gs.Dropped, "closed": gs.Closed, "stalled": gs.Stalled, "idle": gs.Idle, "handshake": gs.Handshake} {
		counter(mSIPGuard, n, a)
	}

	// The relay: MSRP connections.
	for m, n := range rs.Requests {
		counter(mMSRPRequests, n, m)
	}
	for code, n := range rs.Responses {
		counter(mMSRPResponses, n, strconv.Itoa(code))
	}
	for code, n := range rs.ResponsesReceived {
		counter(mMSRPReceived, n, strconv.Itoa(code))
	}
	counter(mMSRPBytes, rs.BytesIn, "in")
	counter(mMSRPBytes, rs.BytesOut, "out")
	gauge(mMSRPConns, float64(rs.ConnsOpen))
	counter(mMSRPAccepted, rs.ConnsAccepted)
	for i, n := range rs.ConnsClosed {
		r := relay.CloseReason(i)
		counter(mMSRPClosed, n, r.String())
		if r == relay.CloseSlowConsumer || r == relay.CloseCongested || r == relay.CloseWriteTimeout {
			counter(mCongestion, n, r.String())
		}
	}

	// The switch: messages.
	ws := s.sw.Stats()
	counter(mMessages, ws.Messages)
	counter(mChunks, ws.Chunks)
	counter(mDeliveries, ws.Deliveries)
	// The counters are read one by one while copies flow: the parts may
	// have moved past the total read before them.
	counter(mDropped, less(ws.DroppedCongested, ws.DroppedPrivate+ws.DroppedAborts), "regular")
	counter(mDropped, ws.DroppedPrivate, "private")
	counter(mDropped, ws.DroppedAborts, "abort")
	counter(mRefused, ws.RefusedRate, "rate")
	counter(mRefused, ws.RefusedUnfinished, "unfinished")
	counter(mRefused, less(ws.Refused, ws.RefusedRate+ws.RefusedUnfinished), "other")
	counter(mAborted, ws.Aborted)
	counter(mNotices, ws.Notices)
	gauge(mTransfers, float64(s.sw.Transfers()))
	counter(mStored, ws.Stored)
	counter(mNotStored, ws.NotStored)
	counter(mReplayed, ws.Replayed)

	// Conference subscriptions.
	cs := s.conf.Stats()
	gauge(mSubs, float64(cs.Subscriptions))
	counter(mNotifies, cs.Notifies)
	counter(mNotifyBytes, cs.Bytes)

	// The store.
	var st store.Stats
	if s.store != nil {
		st = s.store.Stats()
	}
	up := 0.0
	if st.Available {
		up = 1
	}
	gauge(mStoreUp, up)
	counter(mStoreErrors, st.Failed)
	gauge(mStorePending, float64(st.Pending))
	buckets := make(map[float64]uint64, len(store.LatencyBounds))
	var cum uint64
	for i, b := range store.LatencyBounds {
		if i < len(st.AppendLatency.Counts) {
			cum += st.AppendLatency.Counts[i]
		}
		buckets[b] = cum
	}
	ch <- prometheus.MustNewConstHistogram(mStoreLatency, st.AppendLatency.Count, st.AppendLatency.Sum.Seconds(), buckets)
}

// less is a−b, or 0 when b is larger.
func less(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}
