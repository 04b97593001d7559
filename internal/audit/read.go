package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
// A position is a message's stream sequence and, within a message of
// several records, how many of them come before it: "<seq>" or
// "<seq>.<records before>".
func (r *Reader) List(ctx context.Context, f *palisadev1.AuditFilter, size int, token string) ([]*palisadev1.AuditRecord, string, error) {
	start, skip, err := parseToken(token)
	if err != nil {
		return nil, "", err
	}
	var out []*palisadev1.AuditRecord
	var within string // the position, when the page ends inside a message
	next, err := bus.Scan(ctx, r.js, bus.AuditStream, "", start, MaxScan, func(seq uint64, header nats.Header, data []byte) (bool, error) {
		recs, err := Records(header, data)
		if err != nil {
			return false, fmt.Errorf("audit record %d: %w", seq, err)
		}
		from := 0
		if skip > 0 && strconv.FormatUint(seq, 10) == start { // resuming inside that message
			from = skip
		}
		for i := from; i < len(recs); i++ {
			if !Matches(f, recs[i]) {
				continue
			}
			out = append(out, recs[i])
			if len(out) == size {
				if i+1 < len(recs) {
					within = fmt.Sprintf("%d.%d", seq, i+1)
				}
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, "", err
	}
	if within != "" {
		return out, within, nil
	}
	return out, next, nil
}

// parseToken splits a List token into the stream position bus.Scan
// takes and the records of that message already read.
func parseToken(token string) (string, int, error) {
	seq, rest, found := strings.Cut(token, ".")
	if !found {
		return token, 0, nil
	}
	skip, err := strconv.Atoi(rest)
	if _, seqErr := strconv.ParseUint(seq, 10, 64); seqErr != nil || err != nil || skip <= 0 || skip >= maxBatchRecords {
		return "", 0, bus.ErrBadToken
	}
	return seq, skip, nil
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
		recs, err := Records(msg.Headers(), msg.Data())
		if err != nil {
			return fmt.Errorf("audit record: %w", err)
		}
		for _, rec := range recs {
			if !Matches(f, rec) {
				continue
			}
			if err := each(rec); err != nil {
				return err
			}
		}
	}
}
