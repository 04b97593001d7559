package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// MaxScan bounds the records one List call reads, matching or not, so a
// narrow filter over a long trail costs a bounded amount per call; the
// page token carries on from where it stopped.
const MaxScan = 10000

// Reader reads the audit stream.
type Reader struct {
	js jetstream.JetStream
}

// NewReader reads the audit stream on js.
func NewReader(js jetstream.JetStream) *Reader { return &Reader{js: js} }

// Matches reports whether rec matches every field set in f.
func Matches(f *palisadev1.AuditFilter, rec *palisadev1.AuditRecord) bool {
	switch {
	case f.GetCaller() != "" && f.GetCaller() != rec.GetCaller(),
		f.GetAction() != "" && f.GetAction() != rec.GetAction(),
		f.GetDecision() != palisadev1.AuditDecision_AUDIT_DECISION_UNSPECIFIED && f.GetDecision() != rec.GetDecision():
		return false
	case f.GetAccountId() == "":
		return true
	}
	for _, g := range rec.GetGroups() {
		if g.GetAccountId() == f.GetAccountId() {
			return true
		}
	}
	return false
}

// List returns up to size records matching f, oldest first, from the
// position token names ("" for the start of the trail), and the token of
// the position after the last record read, "" when it read to the end.
func (r *Reader) List(ctx context.Context, f *palisadev1.AuditFilter, size int, token string) ([]*palisadev1.AuditRecord, string, error) {
	var out []*palisadev1.AuditRecord
	next, err := bus.Scan(ctx, r.js, bus.AuditStream, "", token, MaxScan, func(seq uint64, data []byte) (bool, error) {
		rec := &palisadev1.AuditRecord{}
		if err := proto.Unmarshal(data, rec); err != nil {
			return false, fmt.Errorf("audit record %d: %w", seq, err)
		}
		if Matches(f, rec) {
			out = append(out, rec)
		}
		return len(out) == size, nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// Watch calls each with every record matching f written from start on
// (the zero time: from now), until ctx ends or each fails.
func (r *Reader) Watch(ctx context.Context, f *palisadev1.AuditFilter, start time.Time, each func(*palisadev1.AuditRecord) error) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
	if !start.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	cons, err := r.js.OrderedConsumer(ctx, bus.AuditStream, cfg)
	if err != nil {
		return fmt.Errorf("follow audit stream: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("follow audit stream: %w", err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		it.Stop()
	}()
	for {
		msg, err := it.Next()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("follow audit stream: %w", err)
		}
		rec := &palisadev1.AuditRecord{}
		if err := proto.Unmarshal(msg.Data(), rec); err != nil {
			return fmt.Errorf("audit record: %w", err)
		}
		if Matches(f, rec) {
			if err := each(rec); err != nil {
				return err
			}
		}
	}
}
