package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

func openIndexed(tb testing.TB) *Store {
	tb.Helper()
	_, js := natstest.Bus(tb, bus.DefaultTopology(1))
	s, err := OpenStore(context.Background(), js)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// createRollout stores the record of rollout i of caller, with a change
// and 20 targets, as the API does.
func createRollout(tb testing.TB, s *Store, caller string, i int) string {
	tb.Helper()
	id := fmt.Sprintf("%032x", i+1)
	targets := make([]*palisadev1.RolloutTarget, 20)
	for t := range targets {
		targets[t] = &palisadev1.RolloutTarget{Location: &palisadev1.Location{AccountId: "111122223333", Region: "us-east-1"},
			GroupIds: []string{fmt.Sprintf("sg-%017x", t)}}
	}
	cmd := &palisadev1.Command{OperationId: id, Caller: caller, AcceptTime: timestamppb.Now(),
		Request: &palisadev1.Command_StartRollout{StartRollout: &palisadev1.StartRolloutRequest{
			Change: &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(443, "10.0.0.0/8")}}, Targets: targets,
		}}}
	if _, err := s.Create(context.Background(), NewRecord(cmd)); err != nil {
		tb.Fatal(err)
	}
	return id
}

// TestListByIndex: rollouts are listed in creation order, a caller's own
// or every caller's, a page at a time; a repeated create lists once; a
// record gone is skipped; a malformed token is refused.
func TestListByIndex(t *testing.T) {
	s := openIndexed(t)
	ctx := context.Background()
	var alice, all []string
	for i := range 9 {
		caller := "bob"
		if i%3 != 1 {
			caller = "alice"
		}
		id := createRollout(t, s, caller, i)
		if caller == "alice" {
			alice = append(alice, id)
		}
		all = append(all, id)
	}
	if _, err := s.Create(ctx, NewRecord(&palisadev1.Command{OperationId: alice[0], Caller: "alice",
		Request: &palisadev1.Command_StartRollout{StartRollout: &palisadev1.StartRolloutRequest{}}})); !errors.Is(err, ErrExists) {
		t.Fatalf("repeated create: %v", err)
	}
	if err := s.kv.Delete(ctx, all[1]); err != nil {
		t.Fatal(err)
	}
	all = slices.Delete(all, 1, 2)
	for caller, want := range map[string][]string{"alice": alice, "": all} {
		var got []string
		token := ""
		for {
			recs, next, err := s.List(ctx, caller, 2, token, nil)
			if err != nil || len(recs) > 2 {
				t.Fatalf("%q: %d, %v", caller, len(recs), err)
			}
			for _, r := range recs {
				got = append(got, r.GetId())
			}
			if next == "" {
				break
			}
			token = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: listed %v, want %v", caller, got, want)
		}
	}
	for _, token := range []string{"x", "0", "-1", "s.1"} {
		if _, _, err := s.List(ctx, "", 2, token, nil); !errors.Is(err, bus.ErrBadToken) {
			t.Errorf("token %q: %v, want ErrBadToken", token, err)
		}
	}
}

// BenchmarkListRolloutsPage: one page of 10 of every caller's rollouts,
// with 10 and with 10,000 rollouts (of 100 callers) in the store.
//
//	go test -run '^$' -bench ListRolloutsPage -benchtime 200x ./internal/rollout/
func BenchmarkListRolloutsPage(b *testing.B) {
	for _, total := range []int{10, 10_000} {
		s := openIndexed(b)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 32)
		for i := range total {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				createRollout(b, s, fmt.Sprintf("spiffe://example.org/caller-%03d", i%100), i)
			})
		}
		wg.Wait()
		page := func() {
			recs, _, err := s.List(context.Background(), "", 10, "", nil)
			if err != nil || len(recs) != 10 {
				b.Fatalf("%d, %v", len(recs), err)
			}
		}
		page() // the first read after the writes settles the store
		b.Run(fmt.Sprintf("rollouts=%d", total), func(b *testing.B) {
			for b.Loop() {
				page()
			}
		})
	}
}
