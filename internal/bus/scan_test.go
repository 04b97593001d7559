package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

// TestScan: a scan reads in order from where it is told, stops where its
// callback says or at its bound, resumes from the position it returns,
// and with a filter reads only matching messages, without waiting.
func TestScan(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SCAN", Subjects: []string{"scan.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if _, err := js.Publish(ctx, fmt.Sprintf("scan.%d", i%3), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	collect := func(limit int) func(uint64, nats.Header, []byte) (bool, error) {
		return func(_ uint64, _ nats.Header, data []byte) (bool, error) {
			got = append(got, string(data))
			return len(got) >= limit, nil
		}
	}
	next, err := bus.Scan(ctx, js, "SCAN", "", "", 10000, collect(300))
	if err != nil || len(got) != 300 || got[0] != "0" || got[299] != "299" || next != "301" {
		t.Fatalf("first page: %d messages, next %q, %v", len(got), next, err)
	}
	got = nil
	next, err = bus.Scan(ctx, js, "SCAN", "", next, 10000, collect(1000))
	if err != nil || len(got) != 700 || got[0] != "300" || next != "" {
		t.Fatalf("the rest: %d messages from %q, next %q, %v", len(got), got[0], next, err)
	}
	got = nil
	next, err = bus.Scan(ctx, js, "SCAN", "", "", 50, collect(1000))
	if err != nil || len(got) != 50 || next != "51" {
		t.Fatalf("bounded: %d messages, next %q, %v", len(got), next, err)
	}
	got = nil
	next, err = bus.Scan(ctx, js, "SCAN", "scan.2", "", 10000, collect(1000))
	if err != nil || len(got) != 333 || got[0] != "2" || next != "" {
		t.Fatalf("filtered: %d messages, next %q, %v", len(got), next, err)
	}
	got = nil
	if _, err = bus.Scan(ctx, js, "SCAN", "", "x", 10, collect(1)); !errors.Is(err, bus.ErrBadToken) {
		t.Fatalf("bad token: %v", err)
	}
	if next, err = bus.Scan(ctx, js, "SCAN", "scan.9", "", 10000, collect(1000)); err != nil || len(got) != 0 || next != "" {
		t.Fatalf("filter matching nothing: %d, %q, %v", len(got), next, err)
	}
}
