package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Room is the record of a room that outlasts its participants: a
// configured (persistent) room, or an ad hoc room while it lingers empty.
type Room struct {
	// URI is the canonical room URI (the record's key).
	URI string
	// Subject is the room's subject.
	Subject string
	// Persistent marks a configured room.
	Persistent bool
	// EmptySince is zero while someone is in the room, else when it
	// emptied: the caller deletes an ad hoc room empty for longer than its
	// grace (DeleteRoom).
	EmptySince time.Time
	// Data is the caller's own encoding (the room's policy); the store
	// keeps it as it is, up to about 1 MiB.
	Data []byte
}

// roomRecord is a Room as kept in the rooms bucket, in JSON.
type roomRecord struct {
	V          int        `json:"v"`
	URI        string     `json:"uri"`
	Subject    string     `json:"subject,omitempty"`
	Persistent bool       `json:"persistent,omitempty"`
	EmptySince *time.Time `json:"empty_since,omitempty"`
	Data       []byte     `json:"data,omitempty"`
}

// PutRoom writes r's record (replacing the room's previous one) and
// returns once it is stored.
func (s *Store) PutRoom(ctx context.Context, r Room) error {
	key, err := escapeKey(r.URI)
	if err != nil {
		return fmt.Errorf("store: room: %w", err)
	}
	if err := s.check(); err != nil {
		return err
	}
	rec := roomRecord{V: 1, URI: r.URI, Subject: r.Subject, Persistent: r.Persistent, Data: r.Data}
	if !r.EmptySince.IsZero() {
		t := r.EmptySince
		rec.EmptySince = &t
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("store: room record: %w", err)
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	if _, err := s.roomsKV.Put(ctx, key, data); err != nil {
		return fmt.Errorf("store: writing room %s: %w", r.URI, err)
	}
	return nil
}

// Rooms returns every room record, sorted by URI.
func (s *Store) Rooms(ctx context.Context) ([]Room, error) {
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	var rooms []Room
	filter := "$KV." + roomsBucket + ".>"
	var seq uint64
	for {
		req, err := s.rd.batch(ctx, "KV_"+roomsBucket, filter, seq, time.Time{}, 1000)
		if err != nil {
			return nil, fmt.Errorf("store: listing rooms: %w", err)
		}
		for _, m := range req.msgs {
			seq = m.seq + 1
			if op := m.hdr.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
				continue
			}
			var rec roomRecord
			if err := json.Unmarshal(m.data, &rec); err != nil {
				return nil, fmt.Errorf("%w: room record %d: %w", ErrFormat, m.seq, err)
			}
			if rec.V != 1 {
				return nil, fmt.Errorf("%w: room record %d has version %d", ErrFormat, m.seq, rec.V)
			}
			r := Room{URI: rec.URI, Subject: rec.Subject, Persistent: rec.Persistent, Data: rec.Data}
			if rec.EmptySince != nil {
				r.EmptySince = *rec.EmptySince
			}
			rooms = append(rooms, r)
		}
		if req.np == 0 || len(req.msgs) == 0 {
			break
		}
	}
	slices.SortFunc(rooms, func(a, b Room) int { return strings.Compare(a.URI, b.URI) })
	return rooms, nil
}

// DeleteRoom deletes the room's messages, its participants' cursors, and
// then its record (so a DeleteRoom cut short can be done again). Cursor
// writes of the room in flight land before, pending ones are dropped;
// appends to the room should have stopped.
func (s *Store) DeleteRoom(ctx context.Context, uri string) error {
	key, err := escapeKey(uri)
	if err != nil {
		return fmt.Errorf("store: room: %w", err)
	}
	if err := s.check(); err != nil {
		return err
	}
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	s.cur.flushMu.Lock()
	defer s.cur.flushMu.Unlock()
	s.cur.forgetRoom(uri)
	if err := s.pub.waitDelivered(ctx, s.pub.barrier()); err != nil {
		return fmt.Errorf("store: deleting room %s: %w", uri, err)
	}
	for _, p := range []struct{ stream, subject string }{
		{msgStream, msgSubjectPfx + key + msgSubjectSfx},
		{"KV_" + cursorsBucket, "$KV." + cursorsBucket + "." + key + ".>"},
		{"KV_" + roomsBucket, "$KV." + roomsBucket + "." + key},
	} {
		if err := s.purge(ctx, p.stream, p.subject); err != nil {
			s.cache.drop(uri)
			return fmt.Errorf("store: deleting room %s: %w", uri, err)
		}
	}
	s.cache.drop(uri)
	return nil
}

// purge removes every message of stream on subject (wildcards allowed).
func (s *Store) purge(ctx context.Context, stream, subject string) error {
	body, _ := json.Marshal(struct {
		Filter string `json:"filter"`
	}{subject})
	reply, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.PURGE."+stream, body)
	if err != nil {
		return fmt.Errorf("purging %s: %w", subject, publishError(err))
	}
	var resp struct {
		Success bool `json:"success"`
		Error   *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return fmt.Errorf("purging %s: bad reply %q: %w", subject, reply.Data, err)
	}
	if resp.Error != nil || !resp.Success {
		desc := "not done"
		if resp.Error != nil {
			desc = fmt.Sprintf("%s (%d)", resp.Error.Description, resp.Error.Code)
		}
		return fmt.Errorf("purging %s: %s", subject, desc)
	}
	return nil
}
