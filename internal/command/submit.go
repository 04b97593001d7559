package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/tracing"
)

// StoreTimeout bounds the NATS round trips of one Submit. JetStream stores
// a command in milliseconds, with an fsync per write in tens.
const StoreTimeout = 5 * time.Second

// UnavailableError: the command could not be stored, or it was stored and
// its operation could not be shown. Either way the same request is safe to
// repeat: under the same operation id it lands on the same operation.
type UnavailableError struct {
	What string // what was unavailable, for the caller
	Err  error  // the cause, for the log; nil when there is none
}

func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return e.What
	}
	return e.What + ": " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// FullError: the command queue is full; it refuses new commands rather
// than drop accepted ones. The caller may repeat the request later.
type FullError struct {
	Err error
}

func (e *FullError) Error() string { return "the command queue is full: " + e.Err.Error() }

func (e *FullError) Unwrap() error { return e.Err }

// jsStoreFailed is JetStream's error code for a publish a stream's limits
// refuse ("maximum messages exceeded", "maximum bytes exceeded").
const jsStoreFailed = 10077

// ReusedError: the request_id was used before for a different request.
type ReusedError struct {
	RequestID string
	Operation string // the resource name of the operation it was used for
}

func (e *ReusedError) Error() string {
	return fmt.Sprintf("request_id %s was already used for a different request (%s)", e.RequestID, e.Operation)
}

// Submitter stores commands and their operation records.
//
// Order of writes, and why every crash point is safe:
//  1. publish the command (message id = operation id) and, in flight with
//     it, the operation's index entry; wait for both of JetStream's acks:
//     once the command's is in, the request is accepted. An index entry
//     whose record is never written is skipped by a list;
//  2. create the record (create-if-absent): if this never happens, the
//     worker creates it from the command before acting (EnsureRecord), so
//     no operation is left without a record, and a record never exists
//     without its command;
//  3. announce the record's first event without waiting for its ack (the
//     record holds it; see operations.Store.AnnounceAsync).
//
// A repeated request needs no lookup before the publish: within the
// command stream's de-duplication window JetStream answers Duplicate and
// stores nothing, and after it the record's create-if-absent finds the
// operation; either way the stored request is compared with the new one.
// A repeat stored after the window (a retry more than the window later,
// a rollout driver taking over and re-submitting its children) waits
// behind the original command on its group's subject, finds its operation
// ended or of a different request, and is dropped by the worker. Only a
// rollout is looked up first (see lookUpFirst).
//
// So an accept costs two sequential JetStream round trips, each carrying
// as many writes as can go together.
//
// A submitter told to WriteRecordFirst (a rollout driver's) writes the
// index entries and the record before the command, so for its operations
// a record may exist without its command until its caller requeues it;
// see there.
type Submitter struct {
	js      jetstream.JetStream
	records *operations.Store
	link    *bus.Link
	log     *slog.Logger
	streams map[string]jetstream.Stream
	// storeFirst: see StoreFirstOfGroup; recordFirst: see
	// WriteRecordFirst.
	storeFirst, recordFirst bool
}

// NewSubmitter binds to the command and rollout streams, which bus.Declare
// has created.
func NewSubmitter(ctx context.Context, js jetstream.JetStream, records *operations.Store, log *slog.Logger) (*Submitter, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Submitter{js: js, records: records, log: log, streams: map[string]jetstream.Stream{}}
	for _, name := range []string{bus.CommandStream, bus.RolloutStream} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("open stream %s: %w", name, err)
		}
		s.streams[name] = st
	}
	s.link = bus.LinkOf(js.Conn())
	return s, nil
}

// Submit stores cmd, whose OperationId, Caller, RequestHash and request are
// set, and returns its operation record: the one already stored when the
// same request was submitted before. afterStore, when given, runs once the
// command is stored and before its record is written (a rollout's own
// record goes there, so it exists when the caller hears of the rollout);
// for a submitter writing records first, once both are.
//
// Errors: *UnavailableError (safe to repeat), *ReusedError, or an error
// encoding the command; and when ctx ended before Submit did, ctx's own
// error (context.Canceled, context.DeadlineExceeded) in place of any of
// them: the caller left, the queue was not at fault. Whether the command
// was stored is then unknown, and the same request is safe to repeat. A
// record that could not be written after the command was stored is no
// error: the command is accepted, and the worker writes the record when it
// meets it.
func (s *Submitter) Submit(ctx context.Context, cmd *palisadev1.Command, afterStore func(context.Context)) (*palisadev1.OperationRecord, error) {
	rec, err := s.submit(ctx, cmd, afterStore)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("submit %s: %w", cmd.GetOperationId(), ctx.Err())
	}
	return rec, err
}

func (s *Submitter) submit(ctx context.Context, cmd *palisadev1.Command, afterStore func(context.Context)) (*palisadev1.OperationRecord, error) {
	stream, subject := Destination(cmd)
	queue := "the command queue"
	if stream == bus.RolloutStream {
		queue = "the rollout queue"
	}
	ctx, cancel, err := s.bound(ctx, queue)
	if err != nil {
		return nil, err
	}
	defer cancel()
	body, err := marshal(cmd)
	if err != nil {
		return nil, err
	}
	if lookUpFirst(cmd) {
		if rec, err := s.existing(ctx, cmd); rec != nil || err != nil {
			return rec, err
		}
	}
	if s.recordFirst && stream == bus.CommandStream {
		return s.submitRecordFirst(ctx, cmd, stream, subject, body, queue, afterStore)
	}
	rec := NewRecord(cmd)
	indexed := make(chan error, 1)
	go func() { indexed <- s.records.Index(ctx, rec) }()
	err = s.store(ctx, cmd, stream, subject, body, queue, 0)
	indexErr := <-indexed
	if err != nil {
		return nil, err
	}
	if afterStore != nil {
		afterStore(ctx)
	}
	if indexErr != nil {
		// Accepted; the worker that meets the command indexes it and
		// writes its record (EnsureRecord), in that order.
		s.log.WarnContext(ctx, "accepted, record not written", "operation_id", cmd.GetOperationId(), "error", indexErr)
		return rec, nil
	}
	switch _, err := s.records.CreateIndexed(ctx, rec); {
	case errors.Is(err, operations.ErrExists):
		if rec, err := s.existing(ctx, cmd); rec != nil || err != nil {
			return rec, err
		}
		// The store said the record exists and then could not show it
		// (a leader change in between). The command is stored, so the
		// request is safe to repeat: the same id lands on it.
		s.log.WarnContext(ctx, "operation record not readable right after it was written", "operation_id", cmd.GetOperationId())
		return nil, &UnavailableError{What: "the operation store did not show the operation just written"}
	case err != nil:
		s.log.WarnContext(ctx, "accepted, record not written", "operation_id", cmd.GetOperationId(), "error", err)
		return rec, nil
	}
	s.records.AnnounceAsync(ctx, rec, StoreTimeout)
	return rec, nil
}

// bound checks that NATS is connected and bounds the writes that follow
// by StoreTimeout and by the connection.
//
// While the connection is down every request to NATS would wait in the
// reconnect buffer until its timeout, so that is said at once instead.
// The bound is StoreTimeout, not the caller's deadline: a request whose
// answer was lost (the server went down after receiving it) otherwise
// waits out the caller's whole deadline, and the caller gets
// DEADLINE_EXCEEDED instead of an UNAVAILABLE it can retry on. And the
// writes end the moment the connection drops.
func (s *Submitter) bound(ctx context.Context, queue string) (context.Context, context.CancelFunc, error) {
	if err := s.connected(queue); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	cancel = s.link.Bind(ctx, cancel)
	// Again once bound: a drop between the first look and the bind would
	// not end the writes.
	if err := s.connected(queue); err != nil {
		cancel()
		return nil, nil, err
	}
	return ctx, cancel, nil
}

func marshal(cmd *palisadev1.Command) ([]byte, error) {
	body, err := proto.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode command %s: %w", cmd.GetOperationId(), err)
	}
	return body, nil
}

// store publishes cmd's encoded body with its operation id as message id,
// and recordRev, when not 0, as the revision of the record written before
// it (bus.RecordRevisionHeader). nil once JetStream holds it: stored now
// (counted as accepted), or before under the same id by the same request.
func (s *Submitter) store(ctx context.Context, cmd *palisadev1.Command, stream, subject string, body []byte, queue string, recordRev uint64) error {
	// The trace context travels with the command, so the worker's spans
	// (and a rollout's children) join the caller's trace.
	header, published := tracing.Publish(ctx, stream, subject)
	if recordRev != 0 {
		if header == nil {
			header = nats.Header{}
		}
		header.Set(bus.RecordRevisionHeader, strconv.FormatUint(recordRev, 10))
	}
	ack, err := s.publish(ctx, stream, subject, body, header, cmd.GetOperationId())
	published(err)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jsStoreFailed {
			return &FullError{Err: err}
		}
		s.log.WarnContext(ctx, "command not stored", "operation_id", cmd.GetOperationId(), "error", err)
		return &UnavailableError{What: queue + " is unavailable", Err: err}
	}
	if ack.Duplicate {
		// Stored before, possibly by a replica that died before writing
		// the record: make sure it is this request.
		return s.sameAsStored(ctx, stream, ack.Sequence, cmd)
	}
	kind, _, _ := Describe(cmd)
	metrics.OperationAccepted(kind.String())
	return nil
}

// lookUpFirst says whether cmd's operation is looked up before anything
// is published: a rollout's. A rollout repeated after the rollout
// stream's de-duplication window must not be stored again, since its
// second delivery would drive the rollout beside the first.
func lookUpFirst(cmd *palisadev1.Command) bool {
	return cmd.GetStartRollout() != nil
}

func (s *Submitter) connected(queue string) error {
	if st := s.js.Conn().Status(); st != nats.CONNECTED {
		return &UnavailableError{What: queue + " is unavailable (NATS " + st.String() + ")"}
	}
	return nil
}

// existing returns the operation already recorded under cmd's id, or nil.
// Under a request_id it must be the same request; a rollout's child is
// its group's whatever rules the command carries.
func (s *Submitter) existing(ctx context.Context, cmd *palisadev1.Command) (*palisadev1.OperationRecord, error) {
	rec, _, err := s.records.Get(ctx, cmd.GetOperationId())
	switch {
	case errors.Is(err, operations.ErrNotFound):
		return nil, nil
	case err != nil:
		s.log.WarnContext(ctx, "operation lookup failed", "operation_id", cmd.GetOperationId(), "error", err)
		return nil, &UnavailableError{What: "the operation store is unavailable", Err: err}
	case cmd.GetRequestId() != "" && string(rec.GetRequestHash()) != string(cmd.GetRequestHash()):
		return nil, &ReusedError{RequestID: cmd.GetRequestId(), Operation: operations.Name(rec.GetId())}
	}
	return rec, nil
}

// sameAsStored checks that the command JetStream holds under cmd's id
// (at seq in stream) is the same request.
func (s *Submitter) sameAsStored(ctx context.Context, stream string, seq uint64, cmd *palisadev1.Command) error {
	if cmd.GetRequestId() == "" {
		return nil
	}
	stored, err := s.streams[stream].GetMsg(ctx, seq)
	if err != nil {
		return nil // the record check that follows still catches a different request
	}
	prev := &palisadev1.Command{}
	if proto.Unmarshal(stored.Data, prev) == nil && string(prev.GetRequestHash()) != string(cmd.GetRequestHash()) {
		return &ReusedError{RequestID: cmd.GetRequestId(), Operation: operations.Name(cmd.GetOperationId())}
	}
	return nil
}

// EnsureRecord returns cmd's operation record, creating it from the
// command when whoever stored the command stopped before writing it (a
// worker meeting it, the dead-letter path, a rollout driver taking over).
func EnsureRecord(ctx context.Context, records *operations.Store, cmd *palisadev1.Command) (*palisadev1.OperationRecord, error) {
	rec, _, err := records.Get(ctx, cmd.GetOperationId())
	if !errors.Is(err, operations.ErrNotFound) {
		return rec, err
	}
	rec = recordOrNow(cmd)
	switch err := records.Create(ctx, rec); {
	case errors.Is(err, operations.ErrExists):
		rec, _, err = records.Get(ctx, cmd.GetOperationId())
		return rec, err
	case err != nil:
		return nil, err
	}
	return rec, nil
}
