package rollout

import (
	"context"
	"errors"
	"strconv"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// The index lists each caller's rollouts in the order they were created
// (bus.Lists), one entry per rollout; read whole, the stream is every
// caller's list. A page of ListRollouts reads one list from where the
// last page ended, so it costs the same with ten thousand rollouts in the
// bucket as with ten.

// listKey names the list of caller's rollouts.
func listKey(caller string) string { return bus.ListKey("rollouts", "caller:"+caller) }

// MaxListScan bounds the index entries one List reads.
const MaxListScan = 2000

// List returns up to pageSize rollouts of caller (every caller's for "")
// that keep (if not nil) holds for, oldest first, from where the page
// pageToken names, and the next page's token ("" at the end): the
// position in the caller's list to go on from. A token List did not hand
// out is bus.ErrBadToken.
func (s *Store) List(ctx context.Context, caller string, pageSize int, pageToken string, keep func(*palisadev1.RolloutRecord) bool) ([]*palisadev1.RolloutRecord, string, error) {
	var from uint64 = 1
	if pageToken != "" {
		n, err := strconv.ParseUint(pageToken, 10, 64)
		if err != nil || n == 0 {
			return nil, "", bus.ErrBadToken
		}
		from = n
	}
	match := func(rec *palisadev1.RolloutRecord) bool {
		return (caller == "" || rec.GetRollout().GetCaller() == caller) && (keep == nil || keep(rec))
	}
	var recs []*palisadev1.RolloutRecord
	var next uint64
	if caller == "" {
		var err error
		if recs, next, err = bus.PageOfAll(ctx, s.index, from, pageSize, MaxListScan, s.getMany, match); err != nil {
			return nil, "", err
		}
	} else {
		key := listKey(caller)
		lengths, err := s.index.Lengths(ctx, []string{key})
		if err != nil {
			return nil, "", err
		}
		if recs, next, err = bus.PageOf(ctx, s.index, key, lengths[key], from, pageSize, MaxListScan, s.getMany, match); err != nil {
			return nil, "", err
		}
	}
	if next == 0 {
		return recs, "", nil
	}
	return recs, strconv.FormatUint(next, 10), nil
}

// getMany reads the records of ids, nil for one that is gone.
func (s *Store) getMany(ctx context.Context, ids []string) ([]*palisadev1.RolloutRecord, error) {
	return bus.FetchEach(ctx, ids, func(ctx context.Context, id string) (*palisadev1.RolloutRecord, error) {
		rec, _, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return rec, err
	})
}
