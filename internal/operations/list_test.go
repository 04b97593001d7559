package operations

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

// lastID numbers the operations createFor makes, so ids never repeat.
var lastID atomic.Uint64

func createFor(tb testing.TB, s *Store, caller string, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", lastID.Add(1))
		now := timestamppb.Now()
		rec := NewRecord(ids[i], nil, nil, &palisadev1.OperationMetadata{
			State: palisadev1.OperationState_OPERATION_STATE_ACCEPTED, Caller: caller, CreateTime: now, UpdateTime: now,
		})
		if err := s.Create(context.Background(), rec); err != nil {
			tb.Fatal(err)
		}
	}
	return ids
}

// TestListReadsTheCallersIndex: a caller's pages hold its operations only,
// in creation order, each once, across page tokens; every caller's when
// no caller is named; an operation whose record is gone is skipped; a
// token List did not hand out is refused.
func TestListReadsTheCallersIndex(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	var bob []string
	for range 5 {
		createFor(t, s, "spiffe://example.org/alice", 20)
		bob = append(bob, createFor(t, s, "spiffe://example.org/bob", 7)...)
	}
	var got []string
	token, pages := "", 0
	for {
		recs, next, err := s.List(ctx, "spiffe://example.org/bob", 10, token, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, r.GetId())
		}
		pages++
		if next == "" {
			break
		}
		token = next
	}
	if fmt.Sprint(got) != fmt.Sprint(bob) || pages != 4 {
		t.Fatalf("bob's pages: %d operations in %d pages, want his %d in order", len(got), pages, len(bob))
	}
	all, next, err := s.List(ctx, "", 1000, "", nil)
	if err != nil || len(all) != 135 || next != "" {
		t.Fatalf("every caller's: %d, %q, %v", len(all), next, err)
	}
	if err := s.kv.Delete(ctx, bob[0]); err != nil {
		t.Fatal(err)
	}
	recs, _, err := s.List(ctx, "spiffe://example.org/bob", 1, "", nil)
	if err != nil || len(recs) != 1 || recs[0].GetId() != bob[1] {
		t.Fatalf("with the first record gone: %v, %v", recs, err)
	}
	if _, _, err := s.List(ctx, "", 10, "not-a-token", nil); !errors.Is(err, bus.ErrBadToken) {
		t.Errorf("bad token: %v", err)
	}
}

// BenchmarkListPage: one page of 50 of a caller's operations, with 100
// and with 100,000 operations (of 1,000 callers) in the store.
//
//	go test -run '^$' -bench ListPage -benchtime 200x ./internal/operations/
func BenchmarkListPage(b *testing.B) {
	for _, total := range []int{100, 100_000} {
		b.Run(fmt.Sprintf("records=%d", total), func(b *testing.B) {
			_, js := natstest.Bus(b, bus.DefaultTopology(1))
			s, err := Open(context.Background(), js, nil)
			if err != nil {
				b.Fatal(err)
			}
			callers := max(1, total/100)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for c := range callers {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					createFor(b, s, fmt.Sprintf("spiffe://example.org/caller-%05d", c), total/callers)
				}()
			}
			wg.Wait()
			b.ResetTimer()
			for b.Loop() {
				recs, _, err := s.List(context.Background(), "spiffe://example.org/caller-00000", 50, "", nil)
				if err != nil || len(recs) != 50 {
					b.Fatalf("%d, %v", len(recs), err)
				}
			}
		})
	}
}
