package operations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// The index lists every operation in the order it joined each list it
// belongs to (bus.Lists): its caller's, its group's and the final
// state's it reached; every caller's list is the stream of callers'
// lists read whole. Caller and group are known when the operation is
// created, and a created group's id when it succeeds; the state is
// indexed where Transition writes it, off the accept path. Only final
// states are listed: every operation passes through ACCEPTED and nearly
// every one through RUNNING, so their lists would be every caller's list
// again, while a final state never changes, so its list holds only
// entries that stay true.
//
// So a create writes two entries (its caller's, its group's), one in
// each of two streams, side by side with its command (see
// bus.OperationIndexStreams). Group and state lists are every caller's: a
// caller's group page reads the group's list and keeps the caller's
// records (a group's operations are few), and a caller's state page reads
// the shorter of the caller's list and the state's. A filter on another
// state, an account, a kind or a region reads the narrowest list its
// other terms allow, and the records decide, within MaxListScan entries.

// dimension is what a list is by; it names the list's kind in a page
// token.
type dimension byte

// The dimensions, most selective first: of two lists of one length the
// first is read.
const (
	byGroup  dimension = 'g'
	byState  dimension = 't'
	byCaller dimension = 'c' // every operation of one caller
	byAll    dimension = 'a' // every operation
)

// index is the operation index: its lists of each kind.
type index struct {
	caller, group, state *bus.Lists
}

func openIndex(js jetstream.JetStream) index {
	l := map[string]*bus.Lists{}
	for _, ix := range bus.OperationIndexStreams() {
		l[ix.Stream] = bus.NewLists(js, ix.Stream, ix.Prefix)
	}
	return index{
		caller: l[bus.OperationIndexStream], group: l[bus.OperationIndexGroupStream],
		state: l[bus.OperationIndexStateStream],
	}
}

// list is one list of the index.
type list struct {
	d   dimension
	ref bus.ListRef
}

// of names the list by d with value (a caller, a group id, a state).
func (ix index) of(d dimension, value string) list {
	if d == byAll {
		// The callers' lists read whole (bus.Lists.ReadAll): each
		// operation is in them once, in the order they were created.
		return list{d, bus.ListRef{In: ix.caller}}
	}
	in := map[dimension]*bus.Lists{byGroup: ix.group, byState: ix.state, byCaller: ix.caller}[d]
	return list{d, bus.ListRef{In: in, Key: bus.ListKey("operations", string(d), value)}}
}

// listsOf are the lists an operation with metadata md belongs to.
func (ix index) listsOf(md *palisadev1.OperationMetadata) []list {
	out := []list{ix.of(byCaller, md.GetCaller())} // and so every caller's
	if g := md.GetGroupId(); g != "" {
		out = append(out, ix.of(byGroup, g))
	}
	if st := md.GetState(); Terminal(st) {
		out = append(out, ix.of(byState, st.String()))
	}
	return out
}

// newLists are the lists of now not in was.
func newLists(was, now []list) []bus.ListRef {
	var out []bus.ListRef
	for _, l := range now {
		if !slices.ContainsFunc(was, func(w list) bool { return w.ref.Key == l.ref.Key }) {
			out = append(out, l.ref)
		}
	}
	return out
}

func refs(ls []list) []bus.ListRef {
	out := make([]bus.ListRef, len(ls))
	for i, l := range ls {
		out[i] = l.ref
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

// candidates are the lists that hold every operation q wants, most
// selective first.
func (ix index) candidates(q Query) []list {
	var out []list
	if q.GroupID != "" {
		out = append(out, ix.of(byGroup, q.GroupID))
	}
	if Terminal(q.State) {
		out = append(out, ix.of(byState, q.State.String()))
	}
	if q.Caller != "" {
		return append(out, ix.of(byCaller, q.Caller))
	}
	return append(out, ix.of(byAll, ""))
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
	cands := s.index.candidates(q)
	var from uint64 = 1
	if pageToken != "" {
		d, pos, ok := parseListToken(pageToken)
		i := slices.IndexFunc(cands, func(c list) bool { return c.d == d })
		if !ok || i < 0 {
			return nil, "", bus.ErrBadToken
		}
		cands, from = cands[i:i+1], pos
	}
	match := func(rec *palisadev1.OperationRecord) bool {
		return q.matches(rec.GetMetadata()) && (keep == nil || keep(rec))
	}
	var recs []*palisadev1.OperationRecord
	var next uint64
	var err error
	read := cands[0]
	if read.d == byAll {
		// Every caller's list is read when no narrower one holds q's
		// operations (those come first), or its token says so.
		recs, next, err = bus.PageOfAll(ctx, read.ref.In, from, pageSize, MaxListScan, s.getMany, match)
	} else {
		cands = slices.DeleteFunc(cands, func(c list) bool { return c.d == byAll })
		keys := make([]string, len(cands))
		for i, c := range cands {
			keys[i] = c.ref.Key
		}
		// Every list's counter is in one stream: any of the lists reads them.
		var lengths map[string]uint64
		if lengths, err = s.index.caller.Lengths(ctx, keys); err != nil {
			return nil, "", err
		}
		for _, c := range cands[1:] {
			if lengths[c.ref.Key] < lengths[read.ref.Key] {
				read = c
			}
		}
		recs, next, err = bus.PageOf(ctx, read.ref.In, read.ref.Key, lengths[read.ref.Key], from, pageSize, MaxListScan, s.getMany, match)
	}
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
