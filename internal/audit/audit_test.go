package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

// TestWriteListWatch: records written come back in order, page by page,
// filtered; a bad token is refused; Watch sees new records.
func TestWriteListWatch(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	log, r := New(js, "api-1"), NewReader(js)
	for i := range 250 {
		d := palisadev1.AuditDecision_AUDIT_DECISION_ALLOW
		if i%5 == 0 {
			d = palisadev1.AuditDecision_AUDIT_DECISION_DENY
		}
		rec := &palisadev1.AuditRecord{Caller: fmt.Sprintf("c%d", i%2), Action: "DeleteSecurityGroup", Decision: d,
			Groups: []*palisadev1.AuditGroup{{AccountId: fmt.Sprintf("%012d", i%3)}}}
		if err := log.Write(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if rec.GetId() == "" || rec.GetTime() == nil || rec.GetServer() != "api-1" {
			t.Fatalf("written record not filled in: %v", rec)
		}
	}
	var all []*palisadev1.AuditRecord
	token, pages := "", 0
	for {
		recs, next, err := r.List(ctx, &palisadev1.AuditFilter{}, 100, token)
		if err != nil {
			t.Fatal(err)
		}
		all, pages = append(all, recs...), pages+1
		if next == "" {
			break
		}
		token = next
	}
	if len(all) != 250 || pages != 3 || all[0].GetCaller() != "c0" || all[249].GetCaller() != "c1" {
		t.Fatalf("%d records in %d pages", len(all), pages)
	}
	denied, _, err := r.List(ctx, &palisadev1.AuditFilter{Decision: palisadev1.AuditDecision_AUDIT_DECISION_DENY, Caller: "c0", AccountId: "000000000000"}, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	// i%5==0, i%2==0, i%3==0: i a multiple of 30 below 250.
	if len(denied) != 9 {
		t.Errorf("%d records match, want 9", len(denied))
	}
	if _, _, err := r.List(ctx, &palisadev1.AuditFilter{}, 10, "x"); !errors.Is(err, bus.ErrBadToken) {
		t.Errorf("bad token: %v", err)
	}

	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got := make(chan *palisadev1.AuditRecord, 1)
	go func() {
		_ = r.Watch(wctx, &palisadev1.AuditFilter{Caller: "watched"}, time.Time{}, func(rec *palisadev1.AuditRecord) error {
			select {
			case got <- rec:
			default:
			}
			return nil
		})
	}()
	// Watch starts at the end of the trail: keep writing until it has
	// seen one (the first may land before it subscribed).
	for seen := false; !seen; {
		if err := log.Write(ctx, &palisadev1.AuditRecord{Caller: "watched"}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			seen = true
		case <-time.After(100 * time.Millisecond):
		case <-wctx.Done():
			t.Fatal("Watch saw nothing")
		}
	}
}

// TestWriteWithoutNATSFailsAtOnce: with the connection down a write
// fails at once rather than waiting in the reconnect buffer, so the
// caller hears UNAVAILABLE before its deadline.
func TestWriteWithoutNATSFailsAtOnce(t *testing.T) {
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	js.Conn().Close()
	start := time.Now()
	if err := New(js, "api-1").Write(context.Background(), &palisadev1.AuditRecord{Caller: "c"}); err == nil {
		t.Fatal("a record was written without NATS")
	}
	if time.Since(start) >= WriteTimeout {
		t.Error("the write waited out its timeout")
	}
}

// TestWritesTogether: records written while a write is in flight share
// the next message, one per decision, each record once and whole; a list
// paged one record at a time goes through a message of several record by
// record; a message from before batches (one AuditRecord, no header) is
// still read; a token pointing inside a message must be one List gave.
func TestWritesTogether(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	// A record as written before batches.
	old, _ := proto.Marshal(&palisadev1.AuditRecord{Id: "old", Caller: "c-old", Decision: palisadev1.AuditDecision_AUDIT_DECISION_ALLOW})
	if _, err := js.Publish(ctx, bus.AuditSubject(true), old); err != nil {
		t.Fatal(err)
	}

	log, r := New(js, "api-1"), NewReader(js)
	hold, held := make(chan struct{}), make(chan struct{}, 1)
	var sizes []int
	var mu sync.Mutex
	log.send = func(subject string, batch []*pending) error {
		mu.Lock()
		sizes = append(sizes, len(batch))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			held <- struct{}{}
			<-hold
		}
		return log.publish(subject, batch)
	}
	write := func(caller string, d palisadev1.AuditDecision) chan error {
		errc := make(chan error, 1)
		go func() { errc <- log.Write(ctx, &palisadev1.AuditRecord{Caller: caller, Decision: d}) }()
		return errc
	}
	allow, deny := palisadev1.AuditDecision_AUDIT_DECISION_ALLOW, palisadev1.AuditDecision_AUDIT_DECISION_DENY
	firstErr := write("c-first", allow)
	<-held // the first write is in flight
	var errs []chan error
	for i := range 5 {
		errs = append(errs, write(fmt.Sprintf("c-%d", i), allow))
	}
	waitQueued(t, log, bus.AuditSubject(true), 5)
	// A denial is its own message, not held behind the allows.
	if err := <-write("c-denied", deny); err != nil {
		t.Fatal(err)
	}
	close(hold)
	for _, errc := range append(errs, firstErr) {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	if want := []int{1, 1, 5}; fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Fatalf("messages of %v records, want %v", sizes, want)
	}
	mu.Unlock()

	var callers []string
	token := ""
	for pages := 0; ; pages++ {
		recs, next, err := r.List(ctx, &palisadev1.AuditFilter{}, 1, token)
		if err != nil || len(recs) != 1 {
			t.Fatalf("page %d (token %q): %d records, %v", pages, token, len(recs), err)
		}
		if recs[0].GetServer() == "" && recs[0].GetId() != "old" || recs[0].GetTime() == nil && recs[0].GetId() != "old" {
			t.Fatalf("record not whole: %v", recs[0])
		}
		callers = append(callers, recs[0].GetCaller())
		if next == "" {
			break
		}
		token = next
	}
	// The denial was stored while the first allow was held; the order of
	// the five within their message is theirs.
	if len(callers) != 8 || callers[0] != "c-old" || callers[1] != "c-denied" || callers[2] != "c-first" {
		t.Fatalf("records read one by one: %v", callers)
	}
	if rest := callers[3:]; len(slices.Compact(slices.Sorted(slices.Values(rest)))) != 5 {
		t.Fatalf("the five written together: %v", rest)
	}
	for _, bad := range []string{"4.0", "4.x", "4.-1", "4.999", ".2", "x.1"} {
		if _, _, err := r.List(ctx, &palisadev1.AuditFilter{}, 1, bad); !errors.Is(err, bus.ErrBadToken) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}

func waitQueued(t *testing.T, l *Log, subject string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		got := l.writes.Waiting(subject)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records waiting, want %d", got, n)
		}
	}
}
