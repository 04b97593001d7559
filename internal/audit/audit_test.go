package audit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

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
