package bus

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Rollouts and the shared rate budget.
const (
	// RolloutStream holds one message per rollout in progress. A worker
	// holds it (heartbeating) while it drives the rollout and acks it when
	// the rollout has ended; if the worker dies, another one takes over
	// from the state in RolloutsBucket.
	RolloutStream = "PALISADE_ROLLOUTS"
	// RolloutSubjectPrefix is the prefix of palisade.rollouts.<rollout id>.
	RolloutSubjectPrefix = "palisade.rollouts"
	// RolloutConsumer is the workers' durable consumer of RolloutStream.
	RolloutConsumer = "palisade-rollouts"
	// maxRolloutsInProgress bounds rollouts driven at once, system-wide.
	maxRolloutsInProgress = 1000

	// RolloutsBucket keeps each rollout's state under its id, what its
	// caller asked (pause, resume, cancel) under "<id>.control", and the
	// rules read from its groups while planning under
	// "<id>.plan.<delivery>.<n>" until it ends.
	RolloutsBucket = "palisade_rollouts"

	// BudgetBucket keeps the EC2 rate budget shared by every worker and
	// API process: one token bucket per account, region and EC2 throttle
	// bucket, updated with compare-and-set.
	BudgetBucket = "palisade_budget"
)

// RolloutSubject is the subject of a rollout's command.
func RolloutSubject(id string) string { return RolloutSubjectPrefix + "." + id }

// RolloutControlKey is the key of a rollout's control entry.
func RolloutControlKey(id string) string { return id + ".control" }

// RolloutPlanPartKey is the key of part n of the rules that delivery
// read while planning the rollout.
func RolloutPlanPartKey(id string, delivery uint64, n int) string {
	return fmt.Sprintf("%s.plan.%d.%d", id, delivery, n)
}

// RolloutPlanKeys matches every plan part of a rollout, of any delivery.
func RolloutPlanKeys(id string) string { return id + ".plan.>" }

func declareRollouts(ctx context.Context, js jetstream.JetStream, t Topology) error {
	rollouts, err := createOrUpdateStream(ctx, js, jetstream.StreamConfig{
		Name:        RolloutStream,
		Description: "Rollouts in progress, one message each, held by the worker driving it",
		Subjects:    []string{RolloutSubjectPrefix + ".*"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
		Duplicates:  t.DuplicateWindow,
		Discard:     jetstream.DiscardNew,
	})
	if err != nil {
		return err
	}
	if err := declareConsumer(ctx, rollouts, jetstream.ConsumerConfig{
		Durable:     RolloutConsumer,
		Description: "Workers driving rollouts",
		AckPolicy:   jetstream.AckExplicitPolicy,
		AckWait:     t.AckWait,
		// A rollout outlives any number of worker restarts; its state is
		// in the bucket, so every delivery carries on where it was.
		MaxDeliver:    -1,
		MaxAckPending: maxRolloutsInProgress,
		Replicas:      t.Replicas,
	}); err != nil {
		return err
	}
	if err := declareBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      RolloutsBucket,
		Description: "Rollout state and control",
		History:     1,
		TTL:         t.OperationRetention,
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
	}); err != nil {
		return err
	}
	// Memory is enough: after a NATS restart every bucket starts full, as
	// EC2's have long refilled by then.
	if err := declareBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      BudgetBucket,
		Description: "EC2 rate budget shared by all workers",
		History:     1,
		Storage:     jetstream.MemoryStorage,
		Replicas:    t.Replicas,
	}); err != nil {
		return err
	}
	return nil
}
