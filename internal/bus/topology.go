// Package bus declares every JetStream stream, subject, consumer and bucket
// Palisade uses, in one place, and creates them.
//
// Commands are published on palisade.commands.<account>.<region>.<group key>.
// The command stream maps each subject onto one of Partitions partitions
// (palisade.queue.<p>.<account>.<region>.<group key>) with a subject
// transform; each partition has one durable pull consumer that lets up to
// PartitionMaxAckPending commands be in flight, spread over any number of
// worker processes. The stream is a work queue, so a command stays in it
// until a worker acknowledges it once its operation has ended, and every
// command of one security group is on one subject: a worker runs a
// command only while no earlier command is queued on its subject (see
// workers), so commands for one group are applied one at a time in the
// order they were stored, while other groups proceed in parallel.
package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Names of the streams, buckets and subjects.
const (
	// CommandStream holds accepted commands until a worker acknowledges them.
	CommandStream = "PALISADE_COMMANDS"
	// CommandSubjectPrefix is where the API publishes commands.
	CommandSubjectPrefix = "palisade.commands"
	// queueSubjectPrefix is where the stream stores them, partitioned.
	queueSubjectPrefix = "palisade.queue"
	// RecordRevisionHeader, on a command's message, is the revision at
	// which its submitter stored the operation's record before the
	// command (a rollout driver does), so a worker can start from that
	// record without reading it. A header rather than a field of the
	// command: a worker that does not know it still takes the command
	// for its record's own.
	RecordRevisionHeader = "Palisade-Record-Revision"

	// EventStream keeps every operation's status events.
	EventStream = "PALISADE_EVENTS"
	// EventSubjectPrefix is the prefix of palisade.events.<operation id>.
	EventSubjectPrefix = "palisade.events"

	// OperationsBucket is the KeyValue bucket of operation records, keyed by
	// operation id. It is also the durable idempotency ledger: the command
	// stream forgets the message ids of acknowledged commands.
	OperationsBucket = "palisade_operations"

	// AdvisoryStream captures JetStream's advisories about commands that
	// ran out of deliveries. Advisories are plain messages, lost if nobody
	// listens at that instant; the stream keeps them until a worker has
	// dead-lettered the command and failed its operation.
	AdvisoryStream = "PALISADE_ADVISORIES"
	// maxDeliveriesSubject is where the server announces them.
	maxDeliveriesSubject = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + CommandStream + ".>"
	// AdvisoryConsumer is the workers' durable consumer of AdvisoryStream.
	AdvisoryConsumer = "palisade-deadletter"

	// DeadLetterStream keeps commands no worker could finish, for people
	// to inspect: palisade.deadletter.<operation id>.
	DeadLetterStream = "PALISADE_DEADLETTER"
	// DeadLetterSubjectPrefix is the prefix of its subjects.
	DeadLetterSubjectPrefix = "palisade.deadletter"

	// The operation index lists operations (see Lists) in three
	// streams, one per kind of list, the operation id as each entry's
	// body. A stream stores its messages one after another, each synced
	// to disk before the next on a node that syncs every write: a
	// create's two entries, one in each of two streams, are stored side
	// by side rather than in a row, and an end's in the third.
	//
	// OperationIndexStream holds each caller's list of its operations,
	// palisade.opindex.caller.<list key>.<position>; read whole (by stream
	// sequence), every caller's.
	OperationIndexStream = "PALISADE_OPINDEX"
	// OperationIndexGroupStream holds a list per security group, every
	// caller's operations on it: palisade.opindex.group.<list key>.<position>.
	OperationIndexGroupStream = "PALISADE_OPINDEX_GROUP"
	// OperationIndexStateStream holds a list per final state, every
	// caller's operations that ended in it, written when they end:
	// palisade.opindex.state.<list key>.<position>.
	OperationIndexStateStream = "PALISADE_OPINDEX_STATE"
	// OperationIndexSubjectPrefix is the prefix of their subjects, each
	// stream's followed by its kind (caller, group, state).
	OperationIndexSubjectPrefix = "palisade.opindex"

	// RolloutIndexStream lists each caller's rollouts in creation order:
	// palisade.rolloutindex.<list key>.<position>, the rollout id as
	// body; read whole (by stream sequence), every caller's.
	RolloutIndexStream = "PALISADE_ROLLOUTINDEX"
	// RolloutIndexSubjectPrefix is the prefix of its subjects.
	RolloutIndexSubjectPrefix = "palisade.rolloutindex"

	// IndexCountStream holds one counter per list of either index,
	// palisade.indexcount.<list key>: the last position handed out.
	IndexCountStream = "PALISADE_INDEXCOUNTS"
	// IndexCountSubjectPrefix is the prefix of its subjects.
	IndexCountSubjectPrefix = "palisade.indexcount"

	// AuditStream is the append-only trail of every policy decision:
	// palisade.audit.allow and palisade.audit.deny. Messages can be
	// neither deleted nor purged; only its retention removes them.
	AuditStream = "PALISADE_AUDIT"
	// AuditSubjectPrefix is the prefix of its subjects.
	AuditSubjectPrefix = "palisade.audit"

	// Partitions is the number of command partitions: consumers the
	// workers pull from in parallel. It no longer bounds how many groups
	// are worked on at once (PartitionMaxAckPending and the workers'
	// slots do). Changing it re-maps groups to partitions, so drain the
	// command stream first.
	Partitions = 32

	// PartitionMaxAckPending bounds the commands of one partition in
	// flight at once, over every worker: running, or waiting for an
	// earlier command of their group to end.
	PartitionMaxAckPending = 1024

	consumerPrefix = "palisade-workers-p"
)

// Topology holds the tunable parts of the declarations.
type Topology struct {
	// Replicas of every stream and bucket: 1 embedded, 3 on a cluster.
	Replicas int
	// AckWait is how long a worker may hold a command without a sign of
	// life before it is redelivered. Workers heartbeat well inside it.
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of one command that may attempt it
	// (a worker crashing on it each time); the next delivery dead-letters
	// it.
	MaxDeliver int
	// DuplicateWindow is the command stream's de-duplication window.
	DuplicateWindow time.Duration
	// EventRetention is how long status events are kept.
	EventRetention time.Duration
	// OperationRetention is how long operation records are kept; it bounds
	// how long a request_id is remembered.
	OperationRetention time.Duration
	// AuditRetention is how long audit records are kept.
	AuditRetention time.Duration
	// CommandMaxMsgs and CommandMaxBytes bound the command queue: a full
	// queue refuses new commands (the API answers RESOURCE_EXHAUSTED) and
	// never drops accepted ones.
	CommandMaxMsgs  int64
	CommandMaxBytes int64
	// EventMaxBytes bounds the event stream, which drops its oldest
	// events when full (records keep the history).
	EventMaxBytes int64
	// DeadLetterMaxBytes bounds the dead-letter stream, which drops its
	// oldest commands when full (their operations ended FAILED, with the
	// reason, in their records).
	DeadLetterMaxBytes int64
}

// DefaultTopology is the production shape with the given replica count.
func DefaultTopology(replicas int) Topology {
	return Topology{
		Replicas:           replicas,
		AckWait:            30 * time.Second,
		MaxDeliver:         20,
		DuplicateWindow:    10 * time.Minute,
		EventRetention:     30 * 24 * time.Hour,
		OperationRetention: 30 * 24 * time.Hour,
		AuditRetention:     366 * 24 * time.Hour,
		CommandMaxMsgs:     1_000_000,
		CommandMaxBytes:    1 << 30,
		EventMaxBytes:      2 << 30,
		DeadLetterMaxBytes: 1 << 30,
	}
}

// Reserved is the disk space the streams of t hold back on every node
// that keeps a replica of them: the sum of their byte limits, which
// JetStream reserves against the node's store limit when it creates them
// (a stream that does not fit is refused). The streams and buckets
// without a byte limit reserve nothing and share what is left (each
// needs a byte of it free when it is created). With 3 replicas on 3
// nodes every node keeps a replica of every stream, so each node's store
// needs Reserved and room for the rest.
func (t Topology) Reserved() int64 {
	var sum int64
	for _, n := range []int64{t.CommandMaxBytes, t.EventMaxBytes, t.DeadLetterMaxBytes} {
		sum += max(n, 0)
	}
	return sum
}

// AuditSubject is the subject of an audit record with the decision.
func AuditSubject(allowed bool) string {
	if allowed {
		return AuditSubjectPrefix + ".allow"
	}
	return AuditSubjectPrefix + ".deny"
}

// CommandSubject is the subject of a command for one group. groupKey is a
// security group id, or for a create the key from NewGroupKey.
func CommandSubject(account, region, groupKey string) string {
	return strings.Join([]string{CommandSubjectPrefix, account, region, groupKey}, ".")
}

// DeadLetterSubject is where a command no worker could finish is kept.
func DeadLetterSubject(operationID string) string {
	return DeadLetterSubjectPrefix + "." + operationID
}

// EventSubject is the subject of an operation's status events.
func EventSubject(operationID string) string {
	return EventSubjectPrefix + "." + operationID
}

// ConsumerName is the durable consumer of partition p.
func ConsumerName(p int) string { return fmt.Sprintf("%s%d", consumerPrefix, p) }

// ValidToken reports whether s can be one token of a subject.
func ValidToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ". *>\t\r\n")
}

// Declare creates or updates every stream, consumer and bucket. It is
// idempotent; in production one bootstrap step owns it so that two versions
// never flip a definition back and forth. A server whose store cannot
// hold what the streams reserve refuses one of them; the error then says
// how much that is.
func Declare(ctx context.Context, js jetstream.JetStream, t Topology) error {
	err := declare(ctx, js, t)
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrStorageResourcesExceeded {
		return fmt.Errorf("%w: the streams reserve %.1f GiB of the server's JetStream store, and need room besides for the records, the index and the audit trail; "+
			"give the server a larger max_file_store or, where none is set (it then takes three quarters of the disk's free space when it starts), more free disk",
			err, float64(t.Reserved())/(1<<30))
	}
	return err
}

// jsErrStorageResourcesExceeded is JetStream's answer to a stream whose
// byte limit does not fit what is left of the server's store.
const jsErrStorageResourcesExceeded = 10047

func declare(ctx context.Context, js jetstream.JetStream, t Topology) error {
	if t.Replicas < 1 {
		t.Replicas = 1
	}
	commands, err := createOrUpdateStream(ctx, js, jetstream.StreamConfig{
		Name:        CommandStream,
		Description: "Accepted security-group commands awaiting a worker",
		Subjects:    []string{CommandSubjectPrefix + ".*.*.*"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
		Duplicates:  t.DuplicateWindow,
		Discard:     jetstream.DiscardNew,
		MaxMsgs:     limit(t.CommandMaxMsgs),
		MaxBytes:    limit(t.CommandMaxBytes),
		SubjectTransform: &jetstream.SubjectTransformConfig{
			Source: CommandSubjectPrefix + ".*.*.*",
			Destination: fmt.Sprintf("%s.{{partition(%d,1,2,3)}}.{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}",
				queueSubjectPrefix, Partitions),
		},
	})
	if err != nil {
		return err
	}
	for p := 0; p < Partitions; p++ {
		cfg := jetstream.ConsumerConfig{
			Durable:       ConsumerName(p),
			Description:   fmt.Sprintf("Workers of command partition %d", p),
			FilterSubject: fmt.Sprintf("%s.%d.>", queueSubjectPrefix, p),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       t.AckWait,
			// MaxDeliver attempts, then one more delivery on which a
			// worker dead-letters the command (the server's advisory
			// after that is only a backstop: nobody may hear it).
			MaxDeliver: t.MaxDeliver + 1,
			// Per-group order is the workers' (an earlier command on the
			// subject holds the later ones back), not the consumer's.
			MaxAckPending: PartitionMaxAckPending,
			Replicas:      t.Replicas,
		}
		if err := declareConsumer(ctx, commands, cfg); err != nil {
			return err
		}
	}
	events := jetstream.StreamConfig{
		Name:        EventStream,
		Description: "Status events of every operation",
		Subjects:    []string{EventSubjectPrefix + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
		MaxAge:      t.EventRetention,
		MaxBytes:    limit(t.EventMaxBytes),
		Duplicates:  2 * time.Minute,
		AllowDirect: true,
	}
	// An event tells watchers sooner what the operation's record, synced
	// with every change, already holds (a failed publish is no writer's
	// error; see operations.Store.announce). An fsync per event was a
	// sixth of an accept's and a third of a worker's writes to disk for
	// that notice; a hard kill of NATS may now lose the events of its
	// last moments, never a change.
	flushInBackgroundOnOneNode(&events)
	if _, err := createOrUpdateStream(ctx, js, events); err != nil {
		return err
	}
	advisories, err := createOrUpdateStream(ctx, js, jetstream.StreamConfig{
		Name:        AdvisoryStream,
		Description: "Commands that ran out of deliveries, awaiting dead-lettering",
		Subjects:    []string{maxDeliveriesSubject},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
	})
	if err != nil {
		return err
	}
	if err := declareConsumer(ctx, advisories, jetstream.ConsumerConfig{
		Durable:     AdvisoryConsumer,
		Description: "Workers dead-lettering commands",
		AckPolicy:   jetstream.AckExplicitPolicy,
		AckWait:     t.AckWait,
		Replicas:    t.Replicas,
	}); err != nil {
		return err
	}
	if _, err := createOrUpdateStream(ctx, js, jetstream.StreamConfig{
		Name:        DeadLetterStream,
		Description: "Commands no worker could finish",
		Subjects:    []string{DeadLetterSubjectPrefix + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
		MaxAge:      t.EventRetention,
		MaxBytes:    limit(t.DeadLetterMaxBytes),
	}); err != nil {
		return err
	}
	if err := declareAuditStream(ctx, js, jetstream.StreamConfig{
		Name:        AuditStream,
		Description: "Every policy decision, append-only",
		Subjects:    []string{AuditSubjectPrefix + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
		MaxAge:      t.AuditRetention,
		// Neither can be turned off again. Append-only against those who
		// may update or delete the stream itself is a matter of NATS
		// permissions: only an administrator gets those subjects.
		DenyDelete: true,
		DenyPurge:  true,
		// Were a byte limit set, a full stream refuses new records (and so
		// new changes) rather than dropping old ones.
		Discard:     jetstream.DiscardNew,
		Duplicates:  2 * time.Minute,
		AllowDirect: true,
	}); err != nil {
		return err
	}
	if err := declareIndexes(ctx, js, t); err != nil {
		return err
	}
	if err := declareBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      OperationsBucket,
		Description: "Operation records; the idempotency ledger",
		History:     1,
		TTL:         t.OperationRetention,
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
	}); err != nil {
		return err
	}
	return declareRollouts(ctx, js, t)
}

// IndexStream is one stream of the operation index: the lists of one
// kind, on subjects Prefix.<list key>.<position>.
type IndexStream struct {
	Stream, Prefix, Description string
}

// OperationIndexStreams are the streams of the operation index.
func OperationIndexStreams() []IndexStream {
	return []IndexStream{
		{OperationIndexStream, OperationIndexSubjectPrefix + ".caller", "Operations by caller, in the order they were created; read whole, every caller's"},
		{OperationIndexGroupStream, OperationIndexSubjectPrefix + ".group", "Operations by security group, every caller's"},
		{OperationIndexStateStream, OperationIndexSubjectPrefix + ".state", "Operations by the final state they reached, every caller's"},
	}
}

// declareIndexes creates the operation and rollout indexes (see Lists).
// Entries are kept as long as the records they point at; a counter, which
// keeps only its last value, a day longer, so that no list starts again
// from 1 while an entry of it is left.
func declareIndexes(ctx context.Context, js jetstream.JetStream, t Topology) error {
	var streams []jetstream.StreamConfig
	for _, ix := range OperationIndexStreams() {
		streams = append(streams, jetstream.StreamConfig{
			Name:        ix.Stream,
			Description: ix.Description,
			Subjects:    []string{ix.Prefix + ".*.*"},
		})
	}
	streams = append(streams, jetstream.StreamConfig{
		Name:        RolloutIndexStream,
		Description: "Rollouts by caller, in the order they were created; read whole, every caller's",
		Subjects:    []string{RolloutIndexSubjectPrefix + ".*.*"},
	})
	for _, cfg := range streams {
		cfg.Retention = jetstream.LimitsPolicy
		cfg.Storage = jetstream.FileStorage
		cfg.Replicas = t.Replicas
		cfg.MaxAge = t.OperationRetention
		cfg.Duplicates = t.DuplicateWindow
		cfg.AllowDirect = true
		if _, err := createOrUpdateStream(ctx, js, cfg); err != nil {
			return err
		}
	}
	counts := jetstream.StreamConfig{
		Name:              IndexCountStream,
		Description:       "The length of every list of the operation and rollout indexes",
		Subjects:          []string{IndexCountSubjectPrefix + ".*"},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		Replicas:          t.Replicas,
		MaxAge:            t.OperationRetention + 24*time.Hour,
		MaxMsgsPerSubject: 1,
		AllowMsgCounter:   true,
		AllowDirect:       true,
	}
	// An fsync per increment would cost every create two more, in a row
	// in this one stream. The entries are synced, and a counter left
	// behind them by a crash is moved past them on the next append
	// (Lists.Append).
	flushInBackgroundOnOneNode(&counts)
	_, err := createOrUpdateStream(ctx, js, counts)
	return err
}

// limit is a stream limit as JetStream takes it: -1 for none.
func limit(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// declareConsumer creates or updates a durable consumer of s, retrying
// while a fresh cluster has not yet made the stream available.
func declareConsumer(ctx context.Context, s jetstream.Stream, cfg jetstream.ConsumerConfig) error {
	if err := retryStreamNotFound(ctx, func(ctx context.Context) error {
		_, err := s.CreateOrUpdateConsumer(ctx, cfg)
		return err
	}); err != nil {
		return fmt.Errorf("declare consumer %s: %w", cfg.Durable, err)
	}
	return nil
}

// flushInBackgroundOnOneNode lets a stream of one replica acknowledge a
// write before it is synced to disk (JetStream's async persist mode), on
// a node that otherwise syncs every write, for a stream whose loss of its
// last moments in a hard kill costs no change. Replicated streams are
// synced per Raft snapshot anyway, and refuse the mode.
func flushInBackgroundOnOneNode(cfg *jetstream.StreamConfig) {
	if cfg.Replicas == 1 {
		cfg.PersistMode = jetstream.AsyncPersistMode
	}
}

func createOrUpdateStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	var s jetstream.Stream
	err := retryStreamNotFound(ctx, func(ctx context.Context) error {
		// A stream's persist mode is fixed when it is created: a data
		// directory from before a stream was flushed in the background
		// keeps its own. Only those streams are looked up first.
		if cfg.PersistMode != jetstream.DefaultPersistMode {
			if old, err := js.Stream(ctx, cfg.Name); err == nil {
				cfg.PersistMode = old.CachedInfo().Config.PersistMode
			}
		}
		var err error
		s, err = js.CreateOrUpdateStream(ctx, cfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("declare stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// attemptTimeout bounds one JetStream API request of a declaration. A
// fresh cluster drops requests until it has elected its meta leader: no
// answer comes, and a request that waited on the whole declaration's
// context would use it up on that first silence, with the cluster ready
// a second later.
const attemptTimeout = 3 * time.Second

// retryStreamNotFound retries f briefly while a fresh cluster elects its
// leaders: right after start the JetStream API may answer "stream not
// found" or "temporarily unavailable", or not answer at all. Each attempt
// gets a context of its own, bounded by attemptTimeout.
func retryStreamNotFound(ctx context.Context, f func(context.Context) error) error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err = f(actx)
		cancel()
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, jetstream.ErrJetStreamNotEnabled) &&
			!strings.Contains(err.Error(), "temporarily unavailable") && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	return err
}
