package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// Store errors.
var (
	ErrNotFound = errors.New("rollout not found")
	ErrExists   = errors.New("rollout already exists")
	// ErrConflict: the record moved since it was read.
	ErrConflict = errors.New("rollout record changed meanwhile")
)

// Store reads and writes rollout records and their control entries.
type Store struct {
	kv jetstream.KeyValue
	// index lists rollouts in creation order (see index.go).
	index *bus.Lists
}

// OpenStore binds to the rollouts bucket, which bus.Declare has created.
func OpenStore(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	kv, err := js.KeyValue(ctx, bus.RolloutsBucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", bus.RolloutsBucket, err)
	}
	return &Store{kv: kv, index: bus.NewLists(js, bus.RolloutIndexStream, bus.RolloutIndexSubjectPrefix)}, nil
}

// Get returns the record and its revision.
func (s *Store) Get(ctx context.Context, id string) (*palisadev1.RolloutRecord, uint64, error) {
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get rollout %s: %w", id, err)
	}
	rec, err := decode(e)
	return rec, e.Revision(), err
}

func decode(e jetstream.KeyValueEntry) (*palisadev1.RolloutRecord, error) {
	rec := &palisadev1.RolloutRecord{}
	if err := proto.Unmarshal(e.Value(), rec); err != nil {
		return nil, fmt.Errorf("decode rollout %s: %w", e.Key(), err)
	}
	return rec, nil
}

// Create stores a new record, its index entry first: an entry whose
// record was never written is skipped by a list, a record without one
// would never be listed.
func (s *Store) Create(ctx context.Context, rec *palisadev1.RolloutRecord) (uint64, error) {
	b, err := proto.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encode rollout %s: %w", rec.GetId(), err)
	}
	if err := s.index.Append(ctx, []string{listKey(rec.GetRollout().GetCaller())}, []byte(rec.GetId()), rec.GetId()); err != nil {
		return 0, fmt.Errorf("index rollout %s: %w", rec.GetId(), err)
	}
	rev, err := s.kv.Create(ctx, rec.GetId(), b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, ErrExists
	}
	if err != nil {
		return 0, fmt.Errorf("create rollout %s: %w", rec.GetId(), err)
	}
	return rev, nil
}

// Update stores rec if the record is still at revision rev.
func (s *Store) Update(ctx context.Context, rec *palisadev1.RolloutRecord, rev uint64) (uint64, error) {
	b, err := proto.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encode rollout %s: %w", rec.GetId(), err)
	}
	next, err := s.kv.Update(ctx, rec.GetId(), b, rev)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
			(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence) {
			return 0, ErrConflict
		}
		return 0, fmt.Errorf("update rollout %s: %w", rec.GetId(), err)
	}
	return next, nil
}

// Control returns what the caller last asked of the rollout, or nil.
func (s *Store) Control(ctx context.Context, id string) (*palisadev1.RolloutControl, error) {
	e, err := s.kv.Get(ctx, bus.RolloutControlKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get rollout control %s: %w", id, err)
	}
	c := &palisadev1.RolloutControl{}
	if err := proto.Unmarshal(e.Value(), c); err != nil {
		return nil, fmt.Errorf("decode rollout control %s: %w", id, err)
	}
	return c, nil
}

// SetControl records what the caller asks. A cancel is final: once
// stored, neither pause nor resume replaces it.
func (s *Store) SetControl(ctx context.Context, id string, c *palisadev1.RolloutControl) (*palisadev1.RolloutControl, error) {
	b, err := proto.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode rollout control %s: %w", id, err)
	}
	key := bus.RolloutControlKey(id)
	for {
		e, err := s.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if _, err := s.kv.Create(ctx, key, b); errors.Is(err, jetstream.ErrKeyExists) {
				continue
			} else if err != nil {
				return nil, fmt.Errorf("set rollout control %s: %w", id, err)
			}
			return c, nil
		case err != nil:
			return nil, fmt.Errorf("get rollout control %s: %w", id, err)
		}
		prev := &palisadev1.RolloutControl{}
		if proto.Unmarshal(e.Value(), prev) == nil && prev.GetAction() == palisadev1.RolloutControl_ACTION_CANCEL {
			return prev, nil
		}
		if _, err := s.kv.Update(ctx, key, b, e.Revision()); err != nil {
			if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				continue
			}
			return nil, fmt.Errorf("set rollout control %s: %w", id, err)
		}
		return c, nil
	}
}

// WatchControl follows the rollout's control entry: its value now (if
// any), then every change.
func (s *Store) WatchControl(ctx context.Context, id string) (jetstream.KeyWatcher, error) {
	return s.kv.Watch(ctx, bus.RolloutControlKey(id))
}

// Watch follows the rollout's record: its value now, then every change.
func (s *Store) Watch(ctx context.Context, id string) (jetstream.KeyWatcher, error) {
	return s.kv.Watch(ctx, id)
}

// Decode reads a watched record.
func Decode(e jetstream.KeyValueEntry) (*palisadev1.RolloutRecord, error) { return decode(e) }
