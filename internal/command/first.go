package command

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
)

// A submitter told to (StoreFirstOfGroup) stores a command, when it can,
// on the condition that no other command of its group is queued:
// JetStream's expected last sequence per subject, 0, on the group's own
// subject. JetStream checks the condition when it stores the command and
// keeps the header with it, so a delivered command carrying it proves
// that every earlier command of its group had left the queue (ended) when
// it was stored, and the worker runs it without looking for one (one
// request per command saved). A command the condition refused is stored
// again without it, and its worker looks.
//
// A rollout driver's children are one per group and mostly the only
// command of their group, so the condition nearly always holds. The API's
// requests often follow each other on one group, where each refusal would
// cost the accept a round trip: the API does not ask for it.

// StoreFirstOfGroup makes the submitter store commands on that condition
// where it holds. Call it before the submitter is used.
func (s *Submitter) StoreFirstOfGroup() { s.storeFirst = true }

// StoredFirst reports whether a delivered command was stored on that
// condition: the header asks for no earlier message on the command's own
// subject (no other subject named for the check).
func StoredFirst(h nats.Header) bool {
	return h.Get(jetstream.ExpectedLastSubjSeqHeader) == "0" && h.Get(jetstream.ExpectedLastSubjSeqSubjHeader) == ""
}

// publish stores a command: when the submitter stores first of group and
// the command goes to the command stream, first as the first of its
// group's queued commands, and when another is queued, without that
// condition.
func (s *Submitter) publish(ctx context.Context, stream, subject string, body []byte, header nats.Header, id string) (*jetstream.PubAck, error) {
	opts := []jetstream.PublishOpt{jetstream.WithMsgID(id), jetstream.WithExpectStream(stream)}
	if s.storeFirst && stream == bus.CommandStream {
		ack, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: body, Header: copyHeader(header)},
			append(opts, jetstream.WithExpectLastSequencePerSubject(0))...)
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
			return ack, err
		}
	}
	return s.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: body, Header: copyHeader(header)}, opts...)
}

// copyHeader copies h, which publishing adds its own headers to.
func copyHeader(h nats.Header) nats.Header {
	c := make(nats.Header, len(h)+3)
	for k, v := range h {
		c[k] = v
	}
	return c
}
