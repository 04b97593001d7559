package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/logging"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/operations"
)

// maxDeliveries is the part of JetStream's max-deliveries advisory we use.
type maxDeliveries struct {
	Stream     string `json:"stream"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// Headers set on a dead-lettered command.
const (
	HeaderOriginalSubject  = "Palisade-Original-Subject"
	HeaderOriginalSequence = "Palisade-Original-Sequence"
	HeaderDeliveries       = "Palisade-Deliveries"
)

// runDeadLetters handles commands the server stopped redelivering (every
// delivery ended without an ack: a worker crashing on it, say): it copies
// the command to the dead-letter stream, fails its operation with the
// reason, and removes it from the work queue, where JetStream leaves such
// messages by design. Nothing is redelivered for ever, and no operation is
// left RUNNING for ever.
func (w *Worker) runDeadLetters(ctx context.Context) (jetstream.ConsumeContext, error) {
	cons, err := w.opts.JetStream.Consumer(ctx, bus.AdvisoryStream, bus.AdvisoryConsumer)
	if err != nil {
		return nil, fmt.Errorf("bind consumer %s: %w", bus.AdvisoryConsumer, err)
	}
	commands, err := w.opts.JetStream.Stream(ctx, bus.CommandStream)
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", bus.CommandStream, err)
	}
	return cons.Consume(func(msg jetstream.Msg) {
		if err := w.deadLetter(ctx, commands, msg.Data()); err != nil {
			w.log.WarnContext(ctx, "dead-lettering failed; will retry", "error", err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
		_ = msg.Ack()
	}, jetstream.PullMaxMessages(1))
}

func (w *Worker) deadLetter(ctx context.Context, commands jetstream.Stream, advisory []byte) error {
	var adv maxDeliveries
	if err := json.Unmarshal(advisory, &adv); err != nil || adv.StreamSeq == 0 {
		w.log.ErrorContext(ctx, "unreadable advisory dropped", "error", err)
		return nil
	}
	raw, err := commands.GetMsg(ctx, adv.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // acked late, or dead-lettered already
	}
	if err != nil {
		return fmt.Errorf("load command %d: %w", adv.StreamSeq, err)
	}
	// The last delivery was the worker's to dead-letter and did not; it
	// made no attempt of its own.
	if err := w.bury(ctx, raw.Data, raw.Subject, adv.StreamSeq, adv.Deliveries-1, nil); err != nil {
		return err
	}
	if err := commands.DeleteMsg(ctx, adv.StreamSeq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("remove command %d: %w", adv.StreamSeq, err)
	}
	return nil
}

// deadLetterDelivery dead-letters a command on its last delivery, before
// any attempt: no worker finished it in the deliveries before. Doing it
// here, not only on the server's advisory, matters because an advisory
// nobody hears (NATS restarting at that moment) is gone, and the command
// would then sit in the work queue, never delivered again, its operation
// unfinished for ever. Term removes it from the work queue.
func (w *Worker) deadLetterDelivery(ctx context.Context, msg jetstream.Msg, seq, attempts uint64, log *slog.Logger) {
	if err := w.bury(ctx, msg.Data(), msg.Subject(), seq, attempts, nil); err != nil {
		// The server's advisory, once this delivery times out, is the
		// next chance.
		log.WarnContext(ctx, "dead-lettering failed", "error", err)
		return
	}
	if err := msg.Term(); err != nil {
		log.WarnContext(ctx, "dead-lettered command not removed", "error", err)
	}
}

// bury copies a command no worker could finish to the dead-letter stream
// and fails its operation with the reason, or with failure when given (a
// refused command's). Both steps are idempotent. Only an operation id of
// the shape Palisade issues names a dead letter or an operation record: a
// forged one could name anything. An operation recorded for a different
// command is not failed (see foreign).
func (w *Worker) bury(ctx context.Context, data []byte, subject string, seq, deliveries uint64, failure *spb.Status) error {
	cmd := &palisadev1.Command{}
	id := "undecodable-" + strconv.FormatUint(seq, 10)
	if proto.Unmarshal(data, cmd) == nil {
		id = "invalid-" + strconv.FormatUint(seq, 10)
		if operations.ValidID(cmd.GetOperationId()) {
			id = cmd.GetOperationId()
		} else {
			cmd.OperationId = ""
		}
	}
	dl := nats.NewMsg(bus.DeadLetterSubject(id))
	dl.Data = data
	dl.Header.Set(HeaderOriginalSubject, subject)
	dl.Header.Set(HeaderOriginalSequence, strconv.FormatUint(seq, 10))
	dl.Header.Set(HeaderDeliveries, strconv.FormatUint(deliveries, 10))
	if _, err := w.opts.JetStream.PublishMsg(ctx, dl, jetstream.WithMsgID(fmt.Sprintf("dl-%d", seq))); err != nil {
		return fmt.Errorf("publish dead letter: %w", err)
	}
	if cmd.GetOperationId() != "" {
		existing, err := command.EnsureRecord(ctx, w.store, cmd)
		if err != nil {
			return err
		}
		if foreign(existing, cmd) {
			// Not this operation's command: whoever published it must not
			// be able to end the operation by getting it refused.
			metrics.DeadLettered(metrics.DeadLetterForeign)
			w.log.WarnContext(ctx, "command under the id of another command's operation dead-lettered; the operation was left as it is",
				logging.OperationID, id, logging.Caller, cmd.GetCaller(), "operation_caller", existing.GetMetadata().GetCaller(), "deliveries", deliveries)
			return nil
		}
		reason := fmt.Sprintf("no worker finished the command in %d deliveries; it was moved to %s", deliveries, bus.DeadLetterSubject(id))
		if failure == nil {
			failure = status.New(codes.Aborted, reason).Proto()
		} else {
			reason = failure.GetMessage() + "; the command was moved to " + bus.DeadLetterSubject(id)
		}
		rec, err := w.store.Transition(ctx, id, func(rec *palisadev1.OperationRecord) (string, error) {
			md := rec.GetMetadata()
			md.State = palisadev1.OperationState_OPERATION_STATE_FAILED
			rec.Error = failure
			return reason, nil
		})
		if err == nil {
			metrics.OperationEnded(rec.GetMetadata())
		}
		if err != nil && !errors.Is(err, operations.ErrEnded) {
			return fmt.Errorf("fail operation %s: %w", id, err)
		}
	}
	if failure != nil || cmd.GetOperationId() == "" {
		metrics.DeadLettered(metrics.DeadLetterRefused)
	} else {
		metrics.DeadLettered(metrics.DeadLetterExhausted)
	}
	w.log.WarnContext(ctx, "command dead-lettered", logging.OperationID, id, "deliveries", deliveries)
	return nil
}
