package msrp

import (
	"errors"
	"fmt"
	"slices"
)

// ErrTooManyMessages: a Reassembler already holds its maximum number of
// incomplete messages.
var ErrTooManyMessages = errors.New("msrp: too many incomplete messages")

// Reassembler puts incoming chunks back together by Message-ID (RFC 4975
// §7.3.1). It is meant for one MSRP session; it is not safe for concurrent
// use. Chunks may arrive in any order, the "$" chunk may come before
// others, and where chunks overlap the one received last wins. Sizes are
// checked against MaxSize before any buffer is allocated.
type Reassembler struct {
	MaxSize     int64 // largest complete message (413 beyond it)
	MaxMessages int   // most incomplete messages held at once (0: 16)

	parts map[string]*partial
}

type partial struct {
	buf   []byte
	total int64      // Unknown until the "$" chunk or a Byte-Range total says
	have  [][2]int64 // sorted, disjoint, non-adjacent received intervals [from, to)
}

// NewReassembler returns a Reassembler for messages of at most maxSize bytes.
func NewReassembler(maxSize int64) *Reassembler {
	return &Reassembler{MaxSize: maxSize}
}

// Pending returns the number of incomplete messages held.
func (r *Reassembler) Pending() int { return len(r.parts) }

// Drop forgets an incomplete message (when its chunk timer expires).
func (r *Reassembler) Drop(messageID string) { delete(r.parts, messageID) }

// Add takes one SEND chunk. When it completes its message, Add returns the
// whole body and complete = true. A message sent in one piece (no Byte-Range,
// or one starting at 1 with flag "$" and no chunks held) is returned as
// m.Body itself, without copying; otherwise the body is a new buffer.
// Errors: ErrAborted for a "#" chunk (state dropped), ErrMessageTooLarge
// (state dropped; answer 413), ErrTooManyMessages, and *HeaderError for a
// missing Message-ID or a bad Byte-Range (answer 400).
func (r *Reassembler) Add(m *Message) (body []byte, complete bool, err error) {
	id := m.MessageID()
	br, hasRange, err := m.ByteRange()
	if err != nil {
		return nil, false, err
	}
	flag := m.EndFlag()
	if !hasRange {
		br = ByteRange{Start: 1, End: Unknown, Total: Unknown}
	}
	_, held := r.parts[id]
	if br.Start == 1 && flag == FlagEnd && !held && (br.Total == Unknown || br.Total <= int64(len(m.Body))) {
		if int64(len(m.Body)) > r.MaxSize {
			return nil, false, ErrMessageTooLarge
		}
		return m.Body, true, nil
	}
	if id == "" {
		return nil, false, &HeaderError{Header: HeaderMessageID, Reason: "missing on a chunk"}
	}
	if flag == FlagAbort {
		delete(r.parts, id)
		return nil, false, ErrAborted
	}
	from := br.Start - 1
	to := from + int64(len(m.Body))
	if to > r.MaxSize || (br.Total != Unknown && br.Total > r.MaxSize) {
		delete(r.parts, id)
		return nil, false, ErrMessageTooLarge
	}
	p := r.parts[id]
	if p == nil {
		if r.parts == nil {
			r.parts = make(map[string]*partial)
		}
		limit := r.MaxMessages
		if limit <= 0 {
			limit = 16
		}
		if len(r.parts) >= limit {
			return nil, false, ErrTooManyMessages
		}
		p = &partial{total: Unknown}
		if br.Total != Unknown {
			p.buf = make([]byte, 0, br.Total)
		}
		r.parts[id] = p
	}
	if br.Total != Unknown && p.total == Unknown {
		p.total = br.Total
	}
	// The "$" chunk defines the length (RFC 4975 §7.3.1), also against a
	// declared total (RFC 4975 §11.4 labels its 10-octet last chunk
	// 138-148/148). Only a "$" on a chunk starting at byte 1 whose declared
	// total is larger is read as "more follows": that is the first chunk of
	// RFC 7701 §9.5, whose "$" is an error of the example.
	if flag == FlagEnd && (p.total == Unknown || br.Start > 1 || to >= p.total) {
		p.total = to
	}
	if p.total != Unknown && to > p.total {
		delete(r.parts, id)
		return nil, false, &HeaderError{Header: HeaderByteRange, Reason: fmt.Sprintf("chunk ends at %d beyond total %d", to, p.total)}
	}
	if int64(len(p.buf)) < to {
		p.buf = slices.Grow(p.buf, int(to)-len(p.buf))[:to]
	}
	copy(p.buf[from:to], m.Body) // overlap: the last chunk received wins
	p.add(from, to)
	if p.total != Unknown && len(p.have) == 1 && p.have[0] == [2]int64{0, p.total} ||
		p.total == 0 {
		delete(r.parts, id)
		return p.buf[:p.total], true, nil
	}
	return nil, false, nil
}

// add merges [from, to) into the interval set.
func (p *partial) add(from, to int64) {
	if from == to {
		return
	}
	out := p.have[:0:0]
	placed := false
	for _, iv := range p.have {
		switch {
		case iv[1] < from:
			out = append(out, iv)
		case iv[0] > to:
			if !placed {
				out = append(out, [2]int64{from, to})
				placed = true
			}
			out = append(out, iv)
		default: // overlapping or adjacent: absorb
			from, to = min(from, iv[0]), max(to, iv[1])
		}
	}
	if !placed {
		out = append(out, [2]int64{from, to})
	}
	p.have = out
}
