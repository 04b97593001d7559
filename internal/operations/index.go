package operations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// The index lists every operation in the order it joined each list it
// belongs to (bus.Lists): its caller's and every caller's (the scopes),
// and in each scope the lists of its account, of its group and of the
// final state it reached. Account, caller and group are known when the
// operation is created, and a created group's id when it succeeds; the
// state is indexed where Transition writes it. Only final states are
// listed: every operation passes through ACCEPTED and nearly every one
// through RUNNING, so their lists would be the scope's list again, while
// a final state never changes, so its list holds only entries that stay
// true. A filter on another state, a kind or a region reads the narrowest
// list its other terms allow, and the records decide.

// dimension is what one of the lists of a scope is by.
type dimension byte

// The dimensions, most selective first: of two lists of one length the
// first is read.
const (
	byGroup   dimension = 'g'
	byState   dimension = 't'
	byAccount dimension = 'a'
	byScope   dimension = 's' // every operation of the scope
)

// listKey names the list of scope (a caller, or "" for every caller's)
// by d with value.
func listKey(scope string, d dimension, value string) string {
	s := "all"
	if scope != "" {
		s = "caller:" + scope
	}
	return bus.ListKey("operations", s, string(d), value)
}

// listsOf are the lists an operation with metadata md belongs to.
func listsOf(md *palisadev1.OperationMetadata) []string {
	var keys []string
	for _, scope := range []string{md.GetCaller(), ""} {
		keys = append(keys, listKey(scope, byScope, ""))
		if a := md.GetAccountId(); a != "" {
			keys = append(keys, listKey(scope, byAccount, a))
		}
		if g := md.GetGroupId(); g != "" {
			keys = append(keys, listKey(scope, byGroup, g))
		}
		if st := md.GetState(); Terminal(st) {
			keys = append(keys, listKey(scope, byState, st.String()))
		}
	}
	return keys
}

// newLists are the lists of now not in was.
func newLists(was, now []string) []string {
	var out []string
	for _, k := range now {
		if !slices.Contains(was, k) {
			out = append(out, k)
		}
	}
	return out
}

// Query says which operations List wants. The index narrows the
// candidates by it, and each candidate's record must match it: an entry
// whose record has since moved on (another state, another group) is
// skipped.
type Query struct {
	// Caller whose operations are listed; "" for every caller's.
	Caller string
	// State, GroupID and AccountID, when set, must be the operation's.
	State     palisadev1.OperationState
	GroupID   string
	AccountID string
}

func (q Query) matches(md *palisadev1.OperationMetadata) bool {
	return (q.Caller == "" || md.GetCaller() == q.Caller) &&
		(q.State == palisadev1.OperationState_OPERATION_STATE_UNSPECIFIED || md.GetState() == q.State) &&
		(q.GroupID == "" || md.GetGroupId() == q.GroupID) &&
		(q.AccountID == "" || md.GetAccountId() == q.AccountID)
}

// candidate is one list that holds every operation q wants.
type candidate struct {
	d   dimension
	key string
}

// candidates are the lists that hold every operation q wants, most
// selective first.
func (q Query) candidates() []candidate {
	var out []candidate
	if q.GroupID != "" {
		out = append(out, candidate{byGroup, listKey(q.Caller, byGroup, q.GroupID)})
	}
	if Terminal(q.State) {
		out = append(out, candidate{byState, listKey(q.Caller, byState, q.State.String())})
	}
	if q.AccountID != "" {
		out = append(out, candidate{byAccount, listKey(q.Caller, byAccount, q.AccountID)})
	}
	return append(out, candidate{byScope, listKey(q.Caller, byScope, "")})
}

// MaxListScan bounds the index entries one List reads, whatever the
// filter: a filter the lists cannot narrow (a kind, a state not final)
// over a long history ends the page early with a token to go on from.
const MaxListScan = 2000

// List returns up to pageSize operations q wants for which keep (if not
// nil) holds, in the order they joined the list read, from where the
// page pageToken names, and the token of the next page ("" at the end).
// Of the lists holding every operation q wants it reads the shortest,
// from where the last page ended: a page costs a few lookups of list
// entries and one read per record, whatever else the store holds. A
// token is the list and the position to go on from, "<dimension>.<n>";
// one List did not hand out for q is bus.ErrBadToken.
func (s *Store) List(ctx context.Context, q Query, pageSize int, pageToken string, keep func(*palisadev1.OperationRecord) bool) ([]*palisadev1.OperationRecord, string, error) {
	cands := q.candidates()
	var from uint64 = 1
	if pageToken != "" {
		d, pos, ok := parseListToken(pageToken)
		i := slices.IndexFunc(cands, func(c candidate) bool { return c.d == d })
		if !ok || i < 0 {
			return nil, "", bus.ErrBadToken
		}
		cands, from = cands[i:i+1], pos
	}
	keys := make([]string, len(cands))
	for i, c := range cands {
		keys[i] = c.key
	}
	lengths, err := s.index.Lengths(ctx, keys)
	if err != nil {
		return nil, "", err
	}
	read := cands[0]
	for _, c := range cands[1:] {
		if lengths[c.key] < lengths[read.key] {
			read = c
		}
	}
	recs, next, err := bus.PageOf(ctx, s.index, read.key, lengths[read.key], from, pageSize, MaxListScan, s.getMany,
		func(rec *palisadev1.OperationRecord) bool {
			return q.matches(rec.GetMetadata()) && (keep == nil || keep(rec))
		})
	if err != nil || next == 0 {
		return recs, "", err
	}
	return recs, fmt.Sprintf("%c.%d", read.d, next), nil
}

func parseListToken(t string) (dimension, uint64, bool) {
	d, pos, ok := strings.Cut(t, ".")
	if !ok || len(d) != 1 {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(pos, 10, 64)
	if err != nil || n == 0 {
		return 0, 0, false
	}
	return dimension(d[0]), n, true
}

// getMany reads the records of ids, nil for one that is gone (expired,
// or its create never finished).
func (s *Store) getMany(ctx context.Context, ids []string) ([]*palisadev1.OperationRecord, error) {
	return bus.FetchEach(ctx, ids, func(ctx context.Context, id string) (*palisadev1.OperationRecord, error) {
		rec, _, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return rec, err
	})
}
