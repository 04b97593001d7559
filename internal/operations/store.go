// Package operations keeps operation records in the operations bucket and
// publishes their status events. The API and the workers change a record
// only through Transition, a compare-and-set loop, so two writers can never
// silently overwrite each other, and every state change becomes both a
// history entry and an event.
package operations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// ErrNotFound: no operation has that id.
var ErrNotFound = errors.New("operation not found")

// ErrExists: an operation with that id already exists.
var ErrExists = errors.New("operation already exists")

// ErrCorrupt: the stored record does not decode, or is not the record of
// the id it is stored under. Whoever can write to the operations bucket
// could have put anything there, so such a record is reported, never
// served or acted on; errors.As finds the id in a *CorruptError.
var ErrCorrupt = errors.New("operation record is corrupt")

// CorruptError says which record is corrupt and how.
type CorruptError struct {
	ID       string
	Revision uint64
	Reason   string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("operation record %s (revision %d) is corrupt: %s", e.ID, e.Revision, e.Reason)
}

func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// ErrNoChange is returned by a Transition func to leave the record as it is.
var ErrNoChange = errors.New("no change")

// ErrEnded: Transition found the operation already ended. An ended record
// never changes again, whoever asks: a worker that lost its claim and
// carries on must not turn a SUCCEEDED operation back into RUNNING.
var ErrEnded = errors.New("operation already ended")

// Store reads and writes operation records.
type Store struct {
	js jetstream.JetStream
	kv jetstream.KeyValue
	// index lists operations by caller, group and final state, and every
	// caller's (see index.go).
	index index
	log   *slog.Logger
	now   func() time.Time
	// unannounced counts changes stored whose event could not be
	// published.
	unannounced atomic.Uint64
	// announcer, when set, publishes events without waiting, its answers
	// awaited by the client's own machinery (see AnnounceWithoutWaiting).
	announcer jetstream.JetStream
}

// Open binds to the operations bucket, which bus.Declare has created. log
// (nil: slog.Default) hears of events that could not be published.
func Open(ctx context.Context, js jetstream.JetStream, log *slog.Logger) (*Store, error) {
	kv, err := js.KeyValue(ctx, bus.OperationsBucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", bus.OperationsBucket, err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Store{js: js, kv: kv, index: openIndex(js),
		log: log, now: time.Now}, nil
}

// Get returns the record and its revision.
func (s *Store) Get(ctx context.Context, id string) (*palisadev1.OperationRecord, uint64, error) {
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get operation %s: %w", id, err)
	}
	rec, err := s.decode(ctx, id, e)
	if err != nil {
		return nil, 0, err
	}
	return rec, e.Revision(), nil
}

// decode reads a stored record, and checks it is the record of id.
func (s *Store) decode(ctx context.Context, id string, e jetstream.KeyValueEntry) (*palisadev1.OperationRecord, error) {
	rec := &palisadev1.OperationRecord{}
	var reason string
	if err := proto.Unmarshal(e.Value(), rec); err != nil {
		reason = "does not decode: " + err.Error()
	} else if rec.GetId() != id {
		reason = fmt.Sprintf("holds the record of %q", rec.GetId())
	} else if rec.GetMetadata() == nil {
		reason = "has no metadata"
	}
	if reason != "" {
		err := &CorruptError{ID: id, Revision: e.Revision(), Reason: reason}
		s.log.ErrorContext(ctx, "corrupt operation record", "operation_id", id, "revision", e.Revision(), "error", err)
		return nil, err
	}
	return rec, nil
}

// NewRecord builds a new record with its first event. The command
// package fills in the metadata from what the command is.
func NewRecord(id string, requestHash []byte, cmd *palisadev1.Command, md *palisadev1.OperationMetadata) *palisadev1.OperationRecord {
	rec := &palisadev1.OperationRecord{
		Id:          id,
		RequestHash: requestHash,
		Metadata:    md,
		Command:     cmd,
	}
	rec.History = append(rec.History, eventOf(rec, md.GetCreateTime(), ""))
	return rec
}

// Create stores a new record and announces its first event (see announce).
// ErrExists when the id is taken (by a retried request, or by a worker that
// met the command first).
func (s *Store) Create(ctx context.Context, rec *palisadev1.OperationRecord) error {
	// The index entry goes first: an entry whose record was never written
	// is skipped by a list, a record without an entry would never be
	// listed.
	if err := s.Index(ctx, rec); err != nil {
		return err
	}
	if _, err := s.CreateIndexed(ctx, rec); err != nil {
		return err
	}
	s.announce(ctx, rec)
	return nil
}

// Index writes the index entries of a record about to be created, in
// every list it belongs to (listsOf). Their message ids make a repeat (a
// retried create, a worker writing the record the API did not) one entry
// per list within the index's de-duplication window. Whoever calls it
// must call CreateIndexed only once it succeeded.
func (s *Store) Index(ctx context.Context, rec *palisadev1.OperationRecord) error {
	if err := bus.AppendEach(ctx, refs(s.index.listsOf(rec.GetMetadata())), []byte(rec.GetId()), rec.GetId()); err != nil {
		return fmt.Errorf("index operation %s: %w", rec.GetId(), err)
	}
	return nil
}

// CreateIndexed stores a new record whose index entry Index wrote, and
// announces nothing: the caller does (Announce, or AnnounceAsync). It
// returns the record's revision; ErrExists when the id is taken.
func (s *Store) CreateIndexed(ctx context.Context, rec *palisadev1.OperationRecord) (uint64, error) {
	b, err := proto.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encode operation %s: %w", rec.GetId(), err)
	}
	rev, err := s.kv.Create(ctx, rec.GetId(), b)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return 0, ErrExists
		}
		return 0, fmt.Errorf("create operation %s: %w", rec.GetId(), err)
	}
	return rev, nil
}

// AnnounceWithoutWaiting makes every change this store makes from now on
// (Create, Transition, TransitionFrom) announce its event as AnnounceAsync
// does, instead of waiting for JetStream's answer before the change
// returns. A worker saves a round trip per change so: the stored record is
// the truth, the event only tells watchers sooner, and the events of one
// store still go out in the order of its changes (one connection).
//
// The events go through a JetStream context of their own, which awaits
// the answers without a goroutine per event: an error, or no answer
// within timeout, is counted as Unannounced and logged. At most
// maxPending wait for their answer; a publish beyond that waits for room
// (and, if none comes soon, is counted as not announced). Call it before
// the store is used.
func (s *Store) AnnounceWithoutWaiting(timeout time.Duration, maxPending int) error {
	opts := []jetstream.JetStreamOpt{
		jetstream.WithPublishAsyncTimeout(timeout),
		jetstream.WithPublishAsyncMaxPending(maxPending),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			s.unannounced.Add(1)
			s.log.Warn("operation event not published; the record holds it", "subject", m.Subject, "error", err)
		}),
	}
	// The same JetStream as the store's: its domain or API prefix.
	o := s.js.Options()
	if o.DefaultTimeout > 0 {
		opts = append(opts, jetstream.WithDefaultTimeout(o.DefaultTimeout))
	}
	var js jetstream.JetStream
	var err error
	switch {
	case o.Domain != "":
		js, err = jetstream.NewWithDomain(s.js.Conn(), o.Domain, opts...)
	case o.APIPrefix != "" && o.APIPrefix != jetstream.DefaultAPIPrefix:
		js, err = jetstream.NewWithAPIPrefix(s.js.Conn(), o.APIPrefix, opts...)
	default:
		js, err = jetstream.New(s.js.Conn(), opts...)
	}
	if err != nil {
		return fmt.Errorf("events publisher: %w", err)
	}
	s.announcer = js
	return nil
}

// AnnounceAsync publishes the record's latest event without waiting for
// JetStream's answer, which a goroutine of its own awaits (bounded by
// timeout) and counts as Unannounced when it is not an ack; on a store
// told to AnnounceWithoutWaiting, its publisher awaits it instead, for
// its own timeout. The accept path answers without that round trip: the
// stored record is the truth (see announce), the event only tells
// watchers sooner.
func (s *Store) AnnounceAsync(ctx context.Context, rec *palisadev1.OperationRecord, timeout time.Duration) {
	h := rec.GetHistory()
	if len(h) == 0 {
		return
	}
	ev := h[len(h)-1]
	b, err := proto.Marshal(ev)
	if err == nil {
		subject, id := bus.EventSubject(rec.GetId()), jetstream.WithMsgID(fmt.Sprintf("%s.%d", rec.GetId(), ev.GetSequence()))
		if s.announcer != nil {
			if _, err = s.announcer.PublishAsync(subject, b, id); err == nil {
				return
			}
		} else {
			var f jetstream.PubAckFuture
			if f, err = s.js.PublishAsync(subject, b, id); err == nil {
				go s.awaitAnnounced(context.WithoutCancel(ctx), rec.GetId(), f, timeout)
				return
			}
		}
	}
	s.unannounced.Add(1)
	s.log.WarnContext(ctx, "operation event not published; the record holds it", "operation_id", rec.GetId(), "error", err)
}

func (s *Store) awaitAnnounced(ctx context.Context, id string, f jetstream.PubAckFuture, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	var err error
	select {
	case <-f.Ok():
		return
	case err = <-f.Err():
	case <-t.C:
		err = errors.New("no answer in " + timeout.String())
	}
	s.unannounced.Add(1)
	s.log.WarnContext(ctx, "operation event not published; the record holds it", "operation_id", id, "error", err)
}

// Transition applies change to the latest record and stores it if the
// record did not move meanwhile, retrying on conflicts. change sets the new
// state and what goes with it and returns the event's reason; it returns
// ErrNoChange to leave the record alone, or another error to abort. The new
// event is appended to the history and announced (see announce). A record that has ended
// is returned with ErrEnded and change is not called.
func (s *Store) Transition(ctx context.Context, id string, change func(rec *palisadev1.OperationRecord) (reason string, err error)) (*palisadev1.OperationRecord, error) {
	rec, _, err := s.TransitionFrom(ctx, id, nil, 0, change)
	return rec, err
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// announce publishes the record's latest event once the record is stored.
// A change that is stored has happened, whether or not its event went out:
// the history in the record is the truth, watchers re-read it, and the
// event's id lets a later PublishLast fill the gap. So a failed publish is
// not the writer's error; it is logged and counted (Unannounced).
func (s *Store) announce(ctx context.Context, rec *palisadev1.OperationRecord) {
	if s.announcer != nil {
		s.AnnounceAsync(ctx, rec, 0)
		return
	}
	if err := s.PublishLast(ctx, rec); err != nil {
		s.unannounced.Add(1)
		s.log.WarnContext(ctx, "operation event not published; the record holds it", "operation_id", rec.GetId(), "error", err)
	}
}

// Unannounced is how many stored changes this store could not announce.
func (s *Store) Unannounced() uint64 { return s.unannounced.Load() }

// PublishLast publishes the record's latest event. The message id makes a
// repeat (a redelivered command re-announcing its end) a no-op.
func (s *Store) PublishLast(ctx context.Context, rec *palisadev1.OperationRecord) error {
	h := rec.GetHistory()
	if len(h) == 0 {
		return nil
	}
	ev := h[len(h)-1]
	b, err := proto.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	_, err = s.js.Publish(ctx, bus.EventSubject(rec.GetId()), b,
		jetstream.WithMsgID(fmt.Sprintf("%s.%d", rec.GetId(), ev.GetSequence())))
	if err != nil {
		return fmt.Errorf("publish event of operation %s: %w", rec.GetId(), err)
	}
	return nil
}

func eventOf(rec *palisadev1.OperationRecord, at *timestamppb.Timestamp, reason string) *palisadev1.OperationEvent {
	md := rec.GetMetadata()
	ev := &palisadev1.OperationEvent{
		OperationId: rec.GetId(),
		State:       md.GetState(),
		Time:        at,
		Attempt:     md.GetAttempts(),
		Reason:      reason,
		Metadata:    proto.CloneOf(md),
		Sequence:    int32(len(rec.GetHistory()) + 1),
	}
	switch md.GetState() {
	case palisadev1.OperationState_OPERATION_STATE_SUCCEEDED:
		ev.Result = rec.GetResult()
	case palisadev1.OperationState_OPERATION_STATE_FAILED:
		ev.Error = rec.GetError()
	}
	return ev
}

// Terminal reports whether an operation in state st has ended.
func Terminal(st palisadev1.OperationState) bool {
	switch st {
	case palisadev1.OperationState_OPERATION_STATE_SUCCEEDED,
		palisadev1.OperationState_OPERATION_STATE_FAILED,
		palisadev1.OperationState_OPERATION_STATE_CANCELLED:
		return true
	}
	return false
}
