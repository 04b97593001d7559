// Package audit writes every policy decision to the append-only audit
// stream before the caller hears it, and reads the stream back.
//
// Writing is fail-closed, as Vault's audit devices are: a decision that
// cannot be recorded is not answered, and the caller is told UNAVAILABLE
// (an allowed change is then not stored either).
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// WriteTimeout bounds one audit write.
const WriteTimeout = 5 * time.Second

// Log writes audit records.
type Log struct {
	js jetstream.JetStream
	// server names this replica in every record.
	server string
}

// New writes to the audit stream on js, naming server as the replica.
func New(js jetstream.JetStream, server string) *Log {
	return &Log{js: js, server: server}
}

// Write stores rec, filling in its id, time and server, and returns once
// JetStream has stored it, or an error.
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
	ctx, cancel := context.WithTimeout(ctx, WriteTimeout)
	defer cancel()
	allowed := rec.GetDecision() == palisadev1.AuditDecision_AUDIT_DECISION_ALLOW
	if _, err := l.js.Publish(ctx, bus.AuditSubject(allowed), body,
		jetstream.WithMsgID(rec.GetId()), jetstream.WithExpectStream(bus.AuditStream)); err != nil {
		return fmt.Errorf("write audit record: %w", err)
	}
	return nil
}
