package operations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

// lastID numbers the operations createOp makes, so ids never repeat.
var lastID atomic.Uint64

const (
	failed    = palisadev1.OperationState_OPERATION_STATE_FAILED
	succeeded = palisadev1.OperationState_OPERATION_STATE_SUCCEEDED
	running   = palisadev1.OperationState_OPERATION_STATE_RUNNING
)

// op is what createOp makes an operation of.
type op struct {
	caller, account, group string
	end                    palisadev1.OperationState // 0: left ACCEPTED
}

// createOp creates the operation through Create, and ends it through
// Transition as a worker would, and returns its id.
func createOp(tb testing.TB, s *Store, o op) string {
	tb.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("%032x", lastID.Add(1))
	now := timestamppb.Now()
	rec := NewRecord(id, nil, nil, &palisadev1.OperationMetadata{
		State: palisadev1.OperationState_OPERATION_STATE_ACCEPTED, Caller: o.caller, CreateTime: now, UpdateTime: now,
		AccountId: o.account, Region: "us-east-1", GroupId: o.group,
	})
	if err := s.Create(ctx, rec); err != nil {
		tb.Fatal(err)
	}
	if o.end != 0 {
		for _, st := range []palisadev1.OperationState{running, o.end} {
			if _, err := s.Transition(ctx, id, setState(st)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return id
}

func createFor(tb testing.TB, s *Store, caller string, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = createOp(tb, s, op{caller: caller})
	}
	return ids
}

// listAll reads every page of q, size at a time, and returns the ids and
// how many pages it took.
func listAll(t *testing.T, s *Store, q Query, size int) ([]string, int) {
	t.Helper()
	var got []string
	token, pages := "", 0
	for {
		recs, next, err := s.List(context.Background(), q, size, token, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, r.GetId())
		}
		pages++
		if next == "" {
			return got, pages
		}
		token = next
	}
}

// TestListReadsTheCallersIndex: a caller's pages hold its operations only,
// in creation order, each once, across page tokens; every caller's when
// no caller is named; an operation whose record is gone is skipped; a
// token List did not hand out, or one of another filter, is refused.
func TestListReadsTheCallersIndex(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	const alice, bob = "spiffe://example.org/alice", "spiffe://example.org/bob"
	var want []string
	for range 5 {
		createFor(t, s, alice, 20)
		want = append(want, createFor(t, s, bob, 7)...)
	}
	if got, pages := listAll(t, s, Query{Caller: bob}, 10); !slices.Equal(got, want) || pages != 4 {
		t.Fatalf("bob's pages: %d operations in %d pages, want his %d in order", len(got), pages, len(want))
	}
	all, next, err := s.List(ctx, Query{}, 1000, "", nil)
	if err != nil || len(all) != 135 || next != "" {
		t.Fatalf("every caller's: %d, %q, %v", len(all), next, err)
	}
	if err := s.kv.Delete(ctx, want[0]); err != nil {
		t.Fatal(err)
	}
	recs, _, err := s.List(ctx, Query{Caller: bob}, 1, "", nil)
	if err != nil || len(recs) != 1 || recs[0].GetId() != want[1] {
		t.Fatalf("with the first record gone: %v, %v", recs, err)
	}
	for _, token := range []string{"not-a-token", "c.0", "c.x", "g.1", "t.1", "a.1", "cc.1"} {
		if _, _, err := s.List(ctx, Query{Caller: bob}, 10, token, nil); !errors.Is(err, bus.ErrBadToken) {
			t.Errorf("token %q: %v, want ErrBadToken", token, err)
		}
	}
}

// TestListNarrowsByStateAndGroup: a filter on a final state, a group, an
// account or several of them lists exactly the operations it names, in
// order, across pages, for one caller and for every caller; the page
// reads the shortest list that holds them all (its token says which), and
// a filter the lists cannot narrow (an account) still lists its operations.
func TestListNarrowsByStateAndGroup(t *testing.T) {
	s := openStore(t)
	callers := []string{"spiffe://example.org/alice", "spiffe://example.org/bob"}
	accounts := []string{"111122223333", "444455556666"}
	groups := []string{"sg-0a", "sg-0b", "sg-0c"}
	ends := []palisadev1.OperationState{succeeded, failed, succeeded, 0, palisadev1.OperationState_OPERATION_STATE_CANCELLED}
	var ops []op
	var ids []string
	for i := range 60 {
		o := op{callers[i%2], accounts[i/7%2], groups[i%3], ends[i%5]}
		ops, ids = append(ops, o), append(ids, createOp(t, s, o))
	}
	for _, q := range []Query{
		{State: failed},
		{Caller: callers[0], State: failed},
		{GroupID: "sg-0b"},
		{Caller: callers[1], GroupID: "sg-0a"},
		{AccountID: accounts[1]},
		{Caller: callers[0], AccountID: accounts[0], State: succeeded},
		{State: failed, GroupID: "sg-0c"},
		{Caller: callers[1], State: running}, // not indexed: the caller's list, read whole
		{State: palisadev1.OperationState_OPERATION_STATE_ACCEPTED},
		{GroupID: "sg-none"},
	} {
		var want []string
		for i, o := range ops {
			st := o.end
			if st == 0 {
				st = palisadev1.OperationState_OPERATION_STATE_ACCEPTED
			}
			if (q.Caller == "" || q.Caller == o.caller) && (q.State == 0 || q.State == st) &&
				(q.GroupID == "" || q.GroupID == o.group) && (q.AccountID == "" || q.AccountID == o.account) {
				want = append(want, ids[i])
			}
		}
		got, pages := listAll(t, s, q, 3)
		if !slices.Equal(got, want) {
			t.Errorf("%+v: listed %v, want %v", q, got, want)
		}
		if wantPages := max(1, (len(want)+2)/3); pages < wantPages || pages > wantPages+1 {
			t.Errorf("%+v: %d pages of 3 for %d operations", q, pages, len(want))
		}
	}
	// The combined filter reads the state's list (12 entries), not the
	// group's (20) or every caller's (60).
	_, token, err := s.List(context.Background(), Query{State: failed, GroupID: "sg-0c"}, 1, "", nil)
	if err != nil || token[0] != byte(byState) {
		t.Fatalf("combined filter's token %q, %v; want one of the state's list", token, err)
	}
	// A token of one filter does not fit another.
	if _, _, err := s.List(context.Background(), Query{GroupID: "sg-0c"}, 1, token, nil); !errors.Is(err, bus.ErrBadToken) {
		t.Fatalf("state token on a group filter: %v, want ErrBadToken", err)
	}
}

// TestStaleIndexEntryIsSkipped: an end written to the index whose record
// then lost to another writer, and ended otherwise, is skipped: the
// record is the truth.
func TestStaleIndexEntryIsSkipped(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	const caller = "spiffe://example.org/alice"
	id := createOp(t, s, op{caller: caller, group: "sg-0a"})
	tries := 0
	rec, err := s.Transition(ctx, id, func(rec *palisadev1.OperationRecord) (string, error) {
		tries++
		if tries == 1 {
			// Another writer moves the record first: this FAILED is
			// indexed, then its write is refused.
			if _, err := s.Transition(ctx, id, setState(running)); err != nil {
				return "", err
			}
			return setState(failed)(rec)
		}
		return setState(succeeded)(rec)
	})
	if err != nil || tries != 2 || rec.GetMetadata().GetState() != succeeded {
		t.Fatalf("transition: %v after %d tries, %v", rec.GetMetadata().GetState(), tries, err)
	}
	key := s.index.of(byState, failed.String()).ref.Key
	n, err := s.index.caller.Lengths(ctx, []string{key})
	if err != nil || n[key] != 1 {
		t.Fatalf("FAILED list: %v, %v; want the stale entry in it", n, err)
	}
	for _, q := range []Query{{Caller: caller, State: failed}, {State: failed}} {
		if recs, next, err := s.List(ctx, q, 10, "", nil); err != nil || len(recs) != 0 || next != "" {
			t.Errorf("%+v: %d operations, next %q, %v; want none", q, len(recs), next, err)
		}
	}
	if recs, _, err := s.List(ctx, Query{State: succeeded}, 10, "", nil); err != nil || len(recs) != 1 || recs[0].GetId() != id {
		t.Errorf("SUCCEEDED: %v, %v", recs, err)
	}
}

// BenchmarkListPage: one page of 50 operations with 100 and with 100,000
// operations in the store (1,000 callers, 1,000 groups, 10 accounts; 1 %
// failed), all created through Create and ended through Transition,
// interleaved as concurrent callers make them. The page is a caller's
// (100 operations of either store), a state's (FAILED: 50 of 100, or
// 1,000 of 100,000), a group's (100 of either store) and every caller's.
//
//	go test -run '^$' -bench ListPage -benchtime 200x ./internal/operations/
func BenchmarkListPage(b *testing.B) {
	for _, total := range []int{100, 100_000} {
		_, js := natstest.Bus(b, bus.DefaultTopology(1))
		s, err := Open(context.Background(), js, nil)
		if err != nil {
			b.Fatal(err)
		}
		fill(b, s, total)
		for _, page := range []struct {
			name string
			q    Query
		}{
			{"caller", Query{Caller: benchCaller(0)}},
			{"state=FAILED", Query{State: failed}},
			{"group", Query{GroupID: benchGroup(0)}},
			{"caller+group", Query{Caller: benchCaller(0), GroupID: benchGroup(0)}},
			{"all", Query{}},
		} {
			list := func() {
				recs, _, err := s.List(context.Background(), page.q, 50, "", nil)
				if err != nil || len(recs) != 50 {
					b.Fatalf("%d, %v", len(recs), err)
				}
			}
			list() // the first read after the writes settles the store
			b.Run(fmt.Sprintf("page=%s/records=%d", page.name, total), func(b *testing.B) {
				for b.Loop() {
					list()
				}
			})
		}
	}
}

func benchCaller(i int) string { return fmt.Sprintf("spiffe://example.org/caller-%05d", i) }
func benchGroup(i int) string  { return fmt.Sprintf("sg-%017x", i) }

// fill creates total operations: operation j of caller j%callers, group
// j%groups (100 operations each), account j%10; FAILED when j%100 is 0,
// or when j is odd in a store of 100 (so that it holds a page of them).
func fill(b *testing.B, s *Store, total int) {
	callers, groups := max(1, total/100), max(1, total/100)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for j := range total {
		o := op{caller: benchCaller(j % callers), group: benchGroup(j % groups), account: fmt.Sprintf("1111222233%02d", j%10), end: succeeded}
		if j%100 == 0 || (total == 100 && j%2 == 1) {
			o.end = failed
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			createOp(b, s, o)
		})
	}
	wg.Wait()
}

// TestIndexUnavailable: with no index to write to, a create stores no
// record and an end is not stored, so no operation is left out of a list
// it belongs to; and a list is an error, not an empty page.
func TestIndexUnavailable(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	id := createOp(t, s, op{caller: "spiffe://example.org/alice", group: "sg-0a"})
	for _, ix := range bus.OperationIndexStreams() {
		if err := s.js.DeleteStream(ctx, ix.Stream); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Transition(ctx, id, setState(failed)); err == nil {
		t.Fatal("an end with no index was stored")
	}
	if rec, _, err := s.Get(ctx, id); err != nil || rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
		t.Fatalf("record after the refused end: %v, %v", rec.GetMetadata().GetState(), err)
	}
	rec := NewRecord(fmt.Sprintf("%032x", lastID.Add(1)), nil, nil, &palisadev1.OperationMetadata{Caller: "spiffe://example.org/alice"})
	if err := s.Create(ctx, rec); err == nil {
		t.Fatal("a create with no index succeeded")
	}
	if _, _, err := s.Get(ctx, rec.GetId()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("record of the refused create: %v", err)
	}
	if _, _, err := s.List(ctx, Query{}, 10, "", nil); err == nil {
		t.Fatal("a list with no index succeeded")
	}
}
