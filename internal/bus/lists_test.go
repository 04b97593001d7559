package bus_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

type item struct{ id string }

// TestLists: entries get dense positions per list, a repeat within the
// de-duplication window leaves an unused position rather than a second
// entry, lengths and entries are read back by position, pages resume at
// the position they return and stop at their scan bound, and a list whose
// oldest entries are gone is read from where its live entries begin.
func TestLists(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	l := bus.NewLists(js, bus.RolloutIndexStream, bus.RolloutIndexSubjectPrefix)
	a, b := bus.ListKey("test", "a"), bus.ListKey("test", "b")
	for i := range 300 {
		keys := []string{a}
		if i%3 == 0 {
			keys = append(keys, b)
		}
		if err := l.Append(ctx, keys, fmt.Appendf(nil, "%03d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The same entry again: a position is taken, no entry written.
	if err := l.Append(ctx, []string{b}, []byte("000"), "0"); err != nil {
		t.Fatal(err)
	}
	n, err := l.Lengths(ctx, []string{a, b, bus.ListKey("test", "never")})
	if err != nil || n[a] != 300 || n[b] != 101 || len(n) != 2 {
		t.Fatalf("lengths: %v, %v", n, err)
	}
	got, err := l.Read(ctx, b, 99, 101)
	if err != nil || len(got) != 2 || got[0].Pos != 99 || string(got[0].Body) != "294" || got[1].Pos != 100 {
		t.Fatalf("b's last entries: %+v, %v", got, err)
	}

	fetch := func(_ context.Context, ids []string) ([]*item, error) {
		out := make([]*item, len(ids))
		for i, id := range ids {
			if id != "013" { // a value that is gone
				out[i] = &item{id}
			}
		}
		return out, nil
	}
	even := func(v *item) bool { return v.id[2]%2 == 0 }
	ids, pages := readPages(t, func(from uint64) ([]*item, uint64, error) {
		return bus.PageOf(ctx, l, a, n[a], from, 40, 1000, fetch, even)
	})
	if len(ids) != 150 || ids[0] != "000" || ids[149] != "298" || pages != 4 || !slices.IsSorted(ids) {
		t.Fatalf("even entries of a: %d in %d pages (%v…)", len(ids), pages, ids[:3])
	}
	// A page that ends on the list's last entry is the last page.
	if page, next, err := bus.PageOf(ctx, l, a, n[a], 291, 10, 1000, fetch, nil); err != nil || len(page) != 10 || next != 0 {
		t.Fatalf("a's last 10: %d, next %d, %v", len(page), next, err)
	}
	// The scan bound ends a page early, with the position to go on from.
	page, next, err := bus.PageOf(ctx, l, a, n[a], 1, 40, 10, fetch, func(v *item) bool { return v.id >= "200" })
	if err != nil || len(page) != 0 || next != 11 {
		t.Fatalf("bounded scan: %d, next %d, %v", len(page), next, err)
	}

	// Entries expire oldest first: with the first 250 of a gone, a page
	// from the start begins at 251, and FirstLive finds it.
	st, err := js.Stream(ctx, bus.RolloutIndexStream)
	if err != nil {
		t.Fatal(err)
	}
	deleteFirst(t, st, a, 250)
	if p, ok, err := l.FirstLive(ctx, a, 1, n[a]); err != nil || !ok || p > 251 || p < 250-32 {
		t.Fatalf("first live position: %d, %v, %v", p, ok, err)
	}
	page, next, err = bus.PageOf(ctx, l, a, n[a], 1, 5, 1000, fetch, nil)
	if err != nil || len(page) != 5 || page[0].id != "250" || next != 256 {
		t.Fatalf("page after expiry: %d from %v, next %d, %v", len(page), page, next, err)
	}
	if _, ok, err := l.FirstLive(ctx, a, 301, 400); ok || err != nil {
		t.Fatalf("past the end: %v, %v", ok, err)
	}
	// A short list whose first 9 entries are gone: the first page of 9
	// finds nothing where it starts, and goes on from the 10th.
	c := bus.ListKey("test", "c")
	for i := range 40 {
		if err := l.Append(ctx, []string{c}, fmt.Appendf(nil, "%03d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	deleteFirst(t, st, c, 9)
	page, next, err = bus.PageOf(ctx, l, c, 40, 1, 9, 1000, fetch, nil)
	if err != nil || len(page) != 9 || page[0].id != "009" || next != 20 { // "013" is gone
		t.Fatalf("page of c after expiry: %d from %v, next %d, %v", len(page), page, next, err)
	}
}

// readPages reads pages with read from position 1 until it says there
// are no more, and returns the ids of their entries and the pages read.
func readPages(t *testing.T, read func(from uint64) ([]*item, uint64, error)) ([]string, int) {
	t.Helper()
	var ids []string
	from, pages := uint64(1), 0
	for {
		page, next, err := read(from)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page {
			ids = append(ids, v.id)
		}
		pages++
		if next == 0 {
			return ids, pages
		}
		from = next
	}
}

// deleteFirst deletes the entries at positions 1…n of the rollout index's
// list key, as expiry would.
func deleteFirst(t *testing.T, st jetstream.Stream, key string, n int) {
	t.Helper()
	ctx := context.Background()
	for p := 1; p <= n; p++ {
		m, err := st.GetLastMsgForSubject(ctx, fmt.Sprintf("%s.%s.%d", bus.RolloutIndexSubjectPrefix, key, p))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteMsg(ctx, m.Sequence); err != nil {
			t.Fatal(err)
		}
	}
}

// TestListsAfterCounterLoss: a counter taken back by increments a crash
// did not flush, behind entries that are on disk, neither hides those
// entries from a reader nor lets the next append overwrite one: it goes
// after them, and the counter with it.
func TestListsAfterCounterLoss(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	ix := bus.OperationIndexStreams()[0]
	l := bus.NewLists(js, ix.Stream, ix.Prefix)
	key := bus.ListKey("test", "crash")
	for i := range 10 {
		if err := l.Append(ctx, []string{key}, fmt.Appendf(nil, "%02d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	// What a crash can do: the last 4 increments are gone.
	if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: bus.IndexCountSubjectPrefix + "." + key, Header: nats.Header{"Nats-Incr": []string{"-4"}}}); err != nil {
		t.Fatal(err)
	}
	n, err := l.Lengths(ctx, []string{key})
	if err != nil || n[key] != 6 {
		t.Fatalf("counter after the loss: %v, %v", n, err)
	}
	ids := func() []string {
		page, _, err := bus.PageOf(ctx, l, key, n[key], 1, 50, 1000,
			func(_ context.Context, ids []string) ([]*item, error) {
				out := make([]*item, len(ids))
				for i, id := range ids {
					out[i] = &item{id}
				}
				return out, nil
			}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range page {
			out = append(out, v.id)
		}
		return out
	}
	if got := ids(); len(got) != 10 || got[9] != "09" {
		t.Fatalf("entries behind a lagging counter: %v", got)
	}
	if err := l.Append(ctx, []string{key}, []byte("10"), "10"); err != nil {
		t.Fatal(err)
	}
	if n, err = l.Lengths(ctx, []string{key}); err != nil || n[key] != 11 {
		t.Fatalf("counter after the append: %v, %v", n, err)
	}
	if got := ids(); !slices.Equal(got, []string{"00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10"}) {
		t.Fatalf("after the append: %v", got)
	}
}

// TestListsWithoutTheirStreams: with no entry stream, an append and a
// read are errors, not an empty list; with no counter stream, so are
// reading a length and taking a position.
func TestListsWithoutTheirStreams(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	key := bus.ListKey("test", "nowhere")
	l := bus.NewLists(js, "NOWHERE", "nowhere")
	if err := l.Append(ctx, []string{key}, []byte("x"), "x"); err == nil {
		t.Error("append without an entry stream succeeded")
	}
	if _, err := l.Read(ctx, key, 1, 10); err == nil {
		t.Error("read without an entry stream succeeded")
	}
	if err := js.DeleteStream(ctx, bus.IndexCountStream); err != nil {
		t.Fatal(err)
	}
	l = bus.NewLists(js, bus.RolloutIndexStream, bus.RolloutIndexSubjectPrefix)
	if _, err := l.Lengths(ctx, []string{key}); err == nil {
		t.Error("lengths without a counter stream succeeded")
	}
	if err := l.Append(ctx, []string{key}, []byte("x"), "x"); err == nil {
		t.Error("append without a counter stream succeeded")
	}
}

// TestListsReadWhole: the entry stream read whole lists every entry of
// every list once, in the order written, with stream sequences as
// positions and how many follow; its pages resume where they end, end on
// its last entry without an empty page after it, stop at their scan bound
// with a position to go on from, and start at the first entry left when
// the oldest are gone. Without the stream, reading is an error.
func TestListsReadWhole(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	l := bus.NewLists(js, bus.RolloutIndexStream, bus.RolloutIndexSubjectPrefix)
	for i := range 60 {
		key := bus.ListKey("test", fmt.Sprint(i%7))
		if err := l.Append(ctx, []string{key}, fmt.Appendf(nil, "%03d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	got, more, err := l.ReadAll(ctx, 2, 3)
	if err != nil || len(got) != 3 || string(got[0].Body) != "001" || got[0].Pos != 2 || got[2].Pos != 4 || more != 56 {
		t.Fatalf("entries 2 to 4: %+v, %d more, %v", got, more, err)
	}
	fetch := func(_ context.Context, ids []string) ([]*item, error) {
		out := make([]*item, len(ids))
		for i, id := range ids {
			if id != "013" { // a value that is gone
				out[i] = &item{id}
			}
		}
		return out, nil
	}
	ids, pages := readPages(t, func(from uint64) ([]*item, uint64, error) {
		return bus.PageOfAll(ctx, l, from, 7, 1000, fetch, nil)
	})
	if len(ids) != 59 || ids[0] != "000" || ids[58] != "059" || slices.Contains(ids, "013") || pages != 9 {
		t.Fatalf("read whole: %d entries in %d pages: %v", len(ids), pages, ids)
	}
	page, next, err := bus.PageOfAll(ctx, l, 1, 5, 20, fetch, func(*item) bool { return false })
	if err != nil || len(page) != 0 || next != 21 {
		t.Fatalf("a page past its scan bound: %d entries, next %d, %v", len(page), next, err)
	}
	st, err := js.Stream(ctx, bus.RolloutIndexStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(41)); err != nil {
		t.Fatal(err)
	}
	page, _, err = bus.PageOfAll(ctx, l, 1, 2, 1000, fetch, nil)
	if err != nil || len(page) != 2 || page[0].id != "040" {
		t.Fatalf("after the oldest entries expired: %v, %v", page, err)
	}
	if _, _, err := bus.PageOfAll(ctx, bus.NewLists(js, "NOWHERE", "nowhere"), 1, 5, 100, fetch, nil); err == nil {
		t.Fatal("a page of no stream succeeded")
	}
}

// TestListsConcurrentAppends: appends to one list at the same time, whose
// positions are taken together (a counter increment for all that wait),
// still give every entry its own position, densely, and the counter
// ends at their number.
func TestListsConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	l := bus.NewLists(js, bus.RolloutIndexStream, bus.RolloutIndexSubjectPrefix)
	key := bus.ListKey("test", "crowd")
	const n = 200
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- l.Append(ctx, []string{key}, fmt.Appendf(nil, "%03d", i), fmt.Sprint(i)) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	lengths, err := l.Lengths(ctx, []string{key})
	if err != nil || lengths[key] != n {
		t.Fatalf("length: %v, %v; want %d", lengths, err, n)
	}
	entries, err := l.Read(ctx, key, 1, n+16)
	if err != nil || len(entries) != n {
		t.Fatalf("read %d entries, %v; want %d", len(entries), err, n)
	}
	var bodies []string
	for i, e := range entries {
		if e.Pos != uint64(i+1) {
			t.Fatalf("entry %d at position %d", i, e.Pos)
		}
		bodies = append(bodies, string(e.Body))
	}
	slices.Sort(bodies)
	if len(slices.Compact(bodies)) != n {
		t.Fatal("an entry written twice")
	}
}
