// Package audit writes every policy decision to the append-only audit
// stream before the caller hears it, and reads the stream back.
//
// Writing is fail-closed, as Vault's audit devices are: a decision that
// cannot be recorded is not answered, and the caller is told UNAVAILABLE
// (an allowed change is then not stored either).
//
// Decisions made while a write is in flight are written together in the
// next message (a palisade.v1.AuditBatch), as a database commits the
// transactions waiting for its log: on a server that syncs every write to
// disk, a crowd of calls then costs an fsync per round trip instead of
// one per call, and while the crowd fits one message no call waits for
// more than the write in flight and its own.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// WriteTimeout bounds one audit write.
const WriteTimeout = 5 * time.Second

// BatchHeader marks a message of the audit stream that is a
// palisade.v1.AuditBatch and says how many records it holds; a message
// without it is one palisade.v1.AuditRecord.
const BatchHeader = "Palisade-Audit-Batch"

// A message holds at most maxBatchRecords records, and no more than
// maxBatchBytes of them unless one record alone is larger: well under
// NATS's default 1 MB payload.
const (
	maxBatchRecords = 256
	maxBatchBytes   = 256 << 10
)

// batchField is AuditBatch.records' field number.
const batchField = 1

// Log writes audit records.
type Log struct {
	js jetstream.JetStream
	// server names this replica in every record.
	server string
	// writes gathers the records of one subject waiting for the next
	// write; send stores one batch (publish; a test holds it to gather a
	// crowd).
	writes *bus.Coalescer[*pending, struct{}]
	send   func(subject string, batch []*pending) error
	// link ends a write in flight the moment the connection drops: the
	// calls waiting for it hear UNAVAILABLE at once, and the records
	// gathered behind it are not held after the connection is back.
	link *bus.Link
}

// pending is one encoded record waiting to be written.
type pending struct {
	id   string
	body []byte
}

// New writes to the audit stream on js, naming server as the replica.
func New(js jetstream.JetStream, server string) *Log {
	l := &Log{js: js, server: server, link: bus.LinkOf(js.Conn())}
	l.send = l.publish
	l.writes = bus.NewCoalescer(func(subject string, batch []*pending) ([]struct{}, error) {
		return make([]struct{}, len(batch)), l.send(subject, batch)
	}, fits)
	return l
}

// fits bounds a message by maxBatchRecords and maxBatchBytes.
func fits(batch []*pending, next *pending) bool {
	size := len(next.body)
	for _, p := range batch {
		size += len(p.body)
	}
	return len(batch) < maxBatchRecords && size <= maxBatchBytes
}

// Write stores rec, filling in its id, time and server, and returns once
// JetStream has stored it, or an error. Records written at the same time
// share a message.
func (l *Log) Write(ctx context.Context, rec *palisadev1.AuditRecord) error {
	if rec.GetId() == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		rec.Id = hex.EncodeToString(b[:])
	}
	if rec.GetTime() == nil {
		rec.Time = timestamppb.Now()
	}
	rec.Server = l.server
	body, err := proto.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode audit record: %w", err)
	}
	// While the connection is down a publish would wait in the reconnect
	// buffer until its timeout, and the caller's deadline could pass
	// before it hears UNAVAILABLE. Say so at once instead.
	if st := l.js.Conn().Status(); st != nats.CONNECTED {
		return fmt.Errorf("write audit record: NATS %s", st)
	}
	subject := bus.AuditSubject(rec.GetDecision() == palisadev1.AuditDecision_AUDIT_DECISION_ALLOW)
	// A caller that leaves before the write may still have its decision
	// audited, as when it leaves right after.
	if _, err := l.writes.Do(ctx, subject, &pending{id: rec.GetId(), body: body}); err != nil {
		return fmt.Errorf("write audit record: %w", err)
	}
	return nil
}

// publish stores batch as one AuditBatch. Its encoding is the records'
// own, each as a length-delimited field: nothing is encoded twice.
func (l *Log) publish(subject string, batch []*pending) error {
	var data []byte
	for _, p := range batch {
		data = protowire.AppendTag(data, batchField, protowire.BytesType)
		data = protowire.AppendBytes(data, p.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), WriteTimeout)
	defer l.link.Bind(ctx, cancel)()
	_, err := l.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: data,
		Header: nats.Header{BatchHeader: []string{strconv.Itoa(len(batch))}}},
		jetstream.WithMsgID(batch[0].id), jetstream.WithExpectStream(bus.AuditStream))
	return err
}

// Records decodes one message of the audit stream: an AuditBatch when
// header says so, else one AuditRecord.
func Records(header nats.Header, data []byte) ([]*palisadev1.AuditRecord, error) {
	if header.Get(BatchHeader) == "" {
		rec := &palisadev1.AuditRecord{}
		if err := proto.Unmarshal(data, rec); err != nil {
			return nil, err
		}
		return []*palisadev1.AuditRecord{rec}, nil
	}
	batch := &palisadev1.AuditBatch{}
	if err := proto.Unmarshal(data, batch); err != nil {
		return nil, err
	}
	return batch.GetRecords(), nil
}
