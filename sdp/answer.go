package sdp

// NewAnswer builds an RFC 3264 answer to offer: v=0, the given o=, "s=-",
// the given session-level c= (copied; nil for none), "t=0 0", and one media
// section per offered m-line, in the same order. For the i-th offered media
// m, decide returns the answer's media section, or nil to reject it, in
// which case RejectMedia(m) is used. decide must not return m itself or
// share its slices if the offer is still used afterwards.
func NewAnswer(offer *Session, origin Origin, conn *Connection, decide func(i int, m *Media) *Media) *Session {
	ans := &Session{
		Origin: origin,
		Name:   "-",
		Lines:  []Line{{Type: 't', Value: "0 0"}},
		Media:  make([]*Media, len(offer.Media)),
	}
	if conn != nil {
		c := *conn
		ans.Connection = &c
	}
	for i, m := range offer.Media {
		var a *Media
		if decide != nil {
			a = decide(i, m)
		}
		if a == nil {
			a = RejectMedia(m)
		}
		ans.Media[i] = a
	}
	return ans
}

// RejectMedia returns the answer to m that rejects it (RFC 3264 §6): the
// same media, proto and formats, port 0, and no other line.
func RejectMedia(m *Media) *Media {
	return &Media{Type: m.Type, Port: 0, Proto: m.Proto, Formats: cloneSlice(m.Formats)}
}
