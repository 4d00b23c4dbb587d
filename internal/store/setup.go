package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// setup creates the meta bucket, the message stream and the rooms,
// cursors, accounts and nicknames buckets, or checks and updates the ones
// there. The format key is written last, so that a store whose first Open
// stopped halfway is set up again, not taken for damaged. The accounts and
// nicknames buckets came after format 1's first stores: a store without
// the bucket's meta key (accountsKey, nicknamesKey) predates it and gets
// it made (then the key), while a store with the key and without the
// bucket is damaged. again is true after a reconnection
// (ModeURL): the same, without assuming anything of the server.
func (s *Store) setup(ctx context.Context, again bool) error {
	ctx, cancel := ctxTimeout(ctx)
	defer cancel()
	storage := jetstream.FileStorage
	if s.cfg.Mode == ModeMemory {
		storage = jetstream.MemoryStorage
	}

	meta, err := s.js.KeyValue(ctx, metaBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		meta, err = s.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      metaBucket,
			Description: "parleyd store: format version",
			History:     1,
			Storage:     storage,
			Replicas:    s.cfg.Replicas,
		})
	}
	if err != nil {
		return fmt.Errorf("store: meta bucket: %w", err)
	}
	initialized := false
	e, err := meta.Get(ctx, formatKey)
	switch {
	case err == nil:
		if v := string(e.Value()); v != formatVersion {
			return fmt.Errorf("%w: the data are in format %q, this build reads %q", ErrFormat, v, formatVersion)
		}
		initialized = true
	case errors.Is(err, jetstream.ErrKeyNotFound):
	default:
		return fmt.Errorf("store: reading the format version: %w", err)
	}

	msgs := jetstream.StreamConfig{
		Name:              msgStream,
		Description:       "parleyd store: room messages, parley.room.<escaped room URI>.msg",
		Subjects:          []string{msgSubjectPfx + "*" + msgSubjectSfx},
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: int64(s.cfg.MaxHistory),
		MaxAge:            s.cfg.MaxAge,
		MaxBytes:          s.cfg.MaxBytes,
		MaxMsgSize:        int32(s.cfg.MaxMessageBytes + frameHeaderMax),
		MaxMsgs:           -1,
		MaxConsumers:      -1,
		Storage:           storage,
		Replicas:          s.cfg.Replicas,
		AllowDirect:       true,
		// No Nats-Msg-Id deduplication is used: the smallest window
		// JetStream takes, since on every start it rereads all the
		// messages stored within the window to rebuild its map (with
		// the default 2 minutes, a restart after a busy spell reread
		// them all: 0.7 s of CPU for 1 M messages).
		Duplicates: 100 * time.Millisecond,
	}
	if err := s.ensureStream(ctx, msgs, initialized); err != nil {
		return err
	}
	buckets := []struct {
		kv     *jetstream.KeyValue
		cfg    jetstream.KeyValueConfig
		marker string // the meta key telling the bucket was made, for one added later
	}{
		{&s.roomsKV, jetstream.KeyValueConfig{
			Bucket:       roomsBucket,
			Description:  "parleyd store: room records, key = escaped room URI",
			History:      1,
			MaxBytes:     bucketBytes,
			MaxValueSize: 1 << 20,
			Storage:      storage,
			Replicas:     s.cfg.Replicas,
		}, ""},
		{&s.cursorsKV, jetstream.KeyValueConfig{
			Bucket:       cursorsBucket,
			Description:  "parleyd store: last sequence delivered, key = <escaped room>.<escaped participant>",
			History:      1,
			TTL:          s.cfg.MaxAge,
			MaxBytes:     bucketBytes,
			MaxValueSize: 32,
			Storage:      storage,
			Replicas:     s.cfg.Replicas,
		}, ""},
		{&s.accountsKV, jetstream.KeyValueConfig{
			Bucket:       accountsBucket,
			Description:  "parleyd store: accounts (digest hashes, never passwords), key = escaped ASCII-lower-cased username",
			History:      1,
			MaxBytes:     bucketBytes,
			MaxValueSize: 4 << 10,
			Storage:      storage,
			Replicas:     s.cfg.Replicas,
		}, accountsKey},
		{&s.nicknamesKV, jetstream.KeyValueConfig{
			Bucket:       nicknamesBucket,
			Description:  "parleyd store: nicknames registered to accounts, key = escaped comparison key",
			History:      1,
			MaxBytes:     bucketBytes,
			MaxValueSize: nicknameValueMax,
			Storage:      storage,
			Replicas:     s.cfg.Replicas,
		}, nicknamesKey},
	}
	for _, b := range buckets {
		made := initialized // an initialized store has its format's first buckets
		if b.marker != "" && initialized {
			switch _, err := meta.Get(ctx, b.marker); {
			case errors.Is(err, jetstream.ErrKeyNotFound):
				made = false // a store older than the bucket
			case err != nil:
				return fmt.Errorf("store: reading %s: %w", b.marker, err)
			}
		}
		kv, err := s.js.KeyValue(ctx, b.cfg.Bucket)
		switch {
		case errors.Is(err, jetstream.ErrBucketNotFound):
			if made {
				return s.missing("bucket " + b.cfg.Bucket + " (stream KV_" + b.cfg.Bucket + ")")
			}
			kv, err = s.js.CreateKeyValue(ctx, b.cfg)
		case err == nil:
			kv, err = s.js.CreateOrUpdateKeyValue(ctx, b.cfg)
		}
		if err != nil {
			return fmt.Errorf("store: bucket %s: %w", b.cfg.Bucket, err)
		}
		if b.marker != "" && !made {
			if _, err := meta.Create(ctx, b.marker, []byte("1")); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
				return fmt.Errorf("store: writing %s: %w", b.marker, err)
			}
		}
		if !again || *b.kv == nil {
			*b.kv = kv
		}
	}
	if !initialized {
		if _, err := meta.Create(ctx, formatKey, []byte(formatVersion)); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("store: writing the format version: %w", err)
		}
	}
	if !again || s.metaKV == nil {
		s.metaKV = meta
	}
	return nil
}

// ensureStream creates the stream, or updates the one there when its
// limits differ from cfg. It must exist already in an initialized store.
func (s *Store) ensureStream(ctx context.Context, cfg jetstream.StreamConfig, mustExist bool) error {
	st, err := s.js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if mustExist {
			return s.missing("stream " + cfg.Name)
		}
		_, err = s.js.CreateStream(ctx, cfg)
		if err != nil {
			return fmt.Errorf("store: creating stream %s: %w", cfg.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: stream %s: %w", cfg.Name, err)
	}
	have := st.CachedInfo().Config
	if have.Storage != cfg.Storage {
		return fmt.Errorf("store: stream %s has %s storage, want %s", cfg.Name, have.Storage, cfg.Storage)
	}
	if have.MaxMsgsPerSubject != cfg.MaxMsgsPerSubject || have.MaxAge != cfg.MaxAge || have.MaxBytes != cfg.MaxBytes ||
		have.MaxMsgSize != cfg.MaxMsgSize || !have.AllowDirect || strings.Join(have.Subjects, " ") != strings.Join(cfg.Subjects, " ") ||
		have.Discard != cfg.Discard || have.Duplicates != cfg.Duplicates {
		s.log.Info("store: updating stream limits", "stream", cfg.Name,
			"max_history", cfg.MaxMsgsPerSubject, "max_age", cfg.MaxAge, "max_bytes", cfg.MaxBytes)
		if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("store: updating stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// missing is the error for a stream or bucket missing from an initialized
// store: in the embedded modes, the server could not load its directory
// (its warning in the log says why); nothing was changed on disk.
func (s *Store) missing(what string) error {
	if s.srv == nil {
		return fmt.Errorf("%w: %s is missing from the server's JetStream", ErrCorrupt, what)
	}
	return fmt.Errorf("%w: %s is missing: the server could not load it from %s (see the warning logged before); nothing was changed",
		ErrCorrupt, what, filepath.Join(s.srv.StoreDir(), "$G", "streams"))
}
