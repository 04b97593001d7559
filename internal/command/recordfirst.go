package command

import (
	"context"
	"errors"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/operations"
)

// A submitter told to (WriteRecordFirst) writes an operation's index
// entries and record before its command, where the API writes the command
// first. A worker is then never handed a command whose record is still on
// its way: it would read the record, find nothing, and read again until it
// came (or write it itself). For a rollout's children, written by the
// thousand while workers take them as fast, that was one read in two.
//
// The order leaves a crash point the API's does not: the record written,
// the command not. The record says the operation is queued (ACCEPTED), and
// nothing would ever run or end it, so a submitter writing records first
// is only for a caller that resumes what it submitted when it is taken
// over: a rollout driver, whose rollout is redelivered until it ends and
// whose next delivery stores again the command of every child it finds
// queued (Requeue). A child the rollout stops before it started is
// cancelled by its record. The caller's own answer (Submit's error) makes
// it stop before it counts the operation as queued.

// WriteRecordFirst makes the submitter write records before commands.
// Call it before the submitter is used, and see above for what the caller
// owes.
func (s *Submitter) WriteRecordFirst() { s.recordFirst = true }

// submitRecordFirst is submit's write sequence for a submitter that writes
// records first:
//  1. the index entries, then the record (create-if-absent), as
//     operations.Store.Create orders them. A record already there is the
//     operation's: one that has moved on from ACCEPTED had its command
//     stored (a worker took it), so nothing is stored again; one still
//     ACCEPTED may not have, and its command is stored as below;
//  2. the command, with the operation id as message id, so an earlier
//     writer's copy within the de-duplication window is not stored twice.
//     A record this call created is named by its revision, in the
//     message's header bus.RecordRevisionHeader: the worker starts from
//     the record as the command makes it, with compare-and-set on that
//     revision, and needs no read of it while nobody else has changed it;
//  3. the record's first event, once the command is stored.
func (s *Submitter) submitRecordFirst(ctx context.Context, cmd *palisadev1.Command, stream, subject string, body []byte, queue string, afterStore func(context.Context)) (*palisadev1.OperationRecord, error) {
	rec := NewRecord(cmd)
	created := true
	if err := s.records.Index(ctx, rec); err != nil {
		s.log.WarnContext(ctx, "operation not indexed", "operation_id", cmd.GetOperationId(), "error", err)
		return nil, &UnavailableError{What: "the operation store is unavailable", Err: err}
	}
	rev, err := s.records.CreateIndexed(ctx, rec)
	if errors.Is(err, operations.ErrExists) {
		created = false
		found, err := s.existing(ctx, cmd)
		if err != nil {
			return nil, err
		}
		if found == nil {
			return nil, &UnavailableError{What: "the operation store did not show the operation just written"}
		}
		if found.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
			return found, nil
		}
		rec = found
	} else if err != nil {
		s.log.WarnContext(ctx, "operation record not written", "operation_id", cmd.GetOperationId(), "error", err)
		return nil, &UnavailableError{What: "the operation store is unavailable", Err: err}
	}
	// rev is 0 for a record found there: its revision is not known here.
	if err := s.store(ctx, cmd, stream, subject, body, queue, rev); err != nil {
		return nil, err
	}
	if afterStore != nil {
		afterStore(ctx)
	}
	if created {
		s.records.AnnounceAsync(ctx, rec, StoreTimeout)
	}
	return rec, nil
}

// Requeue stores again the command of an operation whose record the caller
// read as ACCEPTED, for a submitter that writes records first: the writer
// before may have stopped between the record and the command. Within the
// command stream's de-duplication window a command stored before is not
// stored twice; after it, the second copy waits behind the first on its
// group's subject, and its worker drops it, finding the operation ended.
func (s *Submitter) Requeue(ctx context.Context, cmd *palisadev1.Command) error {
	stream, subject := Destination(cmd)
	ctx, cancel, err := s.bound(ctx, "the command queue")
	if err != nil {
		return err
	}
	defer cancel()
	body, err := marshal(cmd)
	if err != nil {
		return err
	}
	return s.store(ctx, cmd, stream, subject, body, "the command queue", 0)
}
