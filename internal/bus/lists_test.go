package bus_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

type item struct{ id string }

// TestLists: each list reads back its own entries in order at their
// stream sequences, with how many follow, and the stream read whole
// every list's; a repeat within the de-duplication window is no second
// entry; pages resume at the position they return, end on the list's
// last entry without an empty page after it, stop at their scan bound
// with a position to go on from, and a list whose oldest entries are gone
// is read from its first live one.
func TestLists(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	ix := bus.OperationIndexStreams()[0]
	l := bus.NewLists(js, ix.Stream, ix.Prefix)
	a, b := bus.ListKey("test", "a"), bus.ListKey("test", "b")
	for i := range 300 {
		key := a
		if i%3 == 0 {
			key = b
		}
		if err := l.Append(ctx, key, fmt.Appendf(nil, "%03d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Append(ctx, b, []byte("000"), "0"); err != nil { // the same entry again
		t.Fatal(err)
	}
	got, more, err := l.Read(ctx, b, 1, 2)
	if err != nil || len(got) != 2 || string(got[0].Body) != "000" || got[0].Pos != 1 ||
		string(got[1].Body) != "003" || got[1].Pos != 4 || more != 98 {
		t.Fatalf("b's first entries: %+v, %d more, %v", got, more, err)
	}
	if got, more, err := l.Read(ctx, b, 298, 10); err != nil || len(got) != 1 || string(got[0].Body) != "297" || more != 0 {
		t.Fatalf("b's last entry: %+v, %d more, %v", got, more, err)
	}
	if got, more, err := l.Read(ctx, "", 2, 3); err != nil || len(got) != 3 || string(got[0].Body) != "001" || got[2].Pos != 4 || more != 296 {
		t.Fatalf("every list's entries: %+v, %d more, %v", got, more, err)
	}
	if got, more, err := l.Read(ctx, bus.ListKey("test", "never"), 1, 10); err != nil || len(got) != 0 || more != 0 {
		t.Fatalf("a list never written: %+v, %d, %v", got, more, err)
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
	var ids []string
	from, pages := uint64(1), 0
	for {
		page, next, err := bus.PageOf(ctx, l, a, from, 7, 1000, fetch, even)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page {
			ids = append(ids, v.id)
		}
		pages++
		if next == 0 {
			break
		}
		from = next
	}
	var want []string
	for i := range 300 {
		if i%3 != 0 && i%2 == 0 {
			want = append(want, fmt.Sprintf("%03d", i))
		}
	}
	if !slices.Equal(ids, want) || pages != (len(want)+6)/7 {
		t.Fatalf("a's even entries: %d in %d pages, want %d in %d", len(ids), pages, len(want), (len(want)+6)/7)
	}
	// A page of exactly the list's last entries is the last page.
	if page, next, err := bus.PageOf(ctx, l, b, 298, 1, 1000, fetch, nil); err != nil || len(page) != 1 || next != 0 {
		t.Fatalf("the last page of b: %d entries, next %d, %v", len(page), next, err)
	}
	// The scan bound ends a page early, with the position to go on from.
	page, next, err := bus.PageOf(ctx, l, a, 1, 5, 20, fetch, func(*item) bool { return false })
	if err != nil || len(page) != 0 || next == 0 {
		t.Fatalf("a page past its scan bound: %d entries, next %d, %v", len(page), next, err)
	}
	first21, _, err := l.Read(ctx, a, 1, 21)
	if err != nil || len(first21) != 21 {
		t.Fatal(first21, err)
	}
	if after, _, err := l.Read(ctx, a, next, 1); err != nil || len(after) != 1 || after[0].Pos != first21[20].Pos {
		t.Fatalf("read from the bound's next position %d: %+v, %v; want the 21st entry", next, after, err)
	}
	// The oldest entries gone: a page from position 1 starts at the first
	// one left.
	st, err := js.Stream(ctx, ix.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(100)); err != nil {
		t.Fatal(err)
	}
	page, _, err = bus.PageOf(ctx, l, b, 1, 2, 1000, fetch, nil)
	if err != nil || len(page) != 2 || page[0].id != "099" || page[1].id != "102" {
		t.Fatalf("b after its oldest entries expired: %v, %v", page, err)
	}
}

// TestListsWithoutTheirStream: with no stream, an append, a read and a
// page are errors, not an empty list; an append names its list.
func TestListsWithoutTheirStream(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	l := bus.NewLists(js, "NOWHERE", "nowhere")
	key := bus.ListKey("test", "nowhere")
	if err := l.Append(ctx, key, []byte("x"), "x"); err == nil {
		t.Error("append without a stream succeeded")
	}
	if _, _, err := l.Read(ctx, key, 1, 10); err == nil {
		t.Error("read without a stream succeeded")
	}
	if err := bus.NewLists(js, bus.OperationIndexStream, bus.OperationIndexSubjectPrefix+".caller").Append(ctx, "", nil, "x"); err == nil {
		t.Error("an append to no list succeeded")
	}
	if _, _, err := bus.PageOf(ctx, l, key, 1, 10, 100, func(context.Context, []string) ([]*item, error) { return nil, nil }, nil); err == nil {
		t.Error("a page without a stream succeeded")
	}
}
