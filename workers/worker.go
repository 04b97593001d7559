// Package workers applies accepted commands to EC2: it pulls them from the
// command partitions, runs each through an idempotent executor under EC2's
// rate budget, retries what EC2 says may be retried, and records and
// announces every state change.
package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/ratebudget"
)

// Options configure a worker.
type Options struct {
	JetStream jetstream.JetStream
	EC2       *ec2client.Factory
	// Budget paces EC2 calls; nil means unpaced.
	Budget *ratebudget.Budget
	Log    *slog.Logger

	// Heartbeat is how often a held command's ack deadline is extended
	// (default 5s). The worker shortens it to a third of the consumers'
	// AckWait when that is shorter, so a claim never lapses between beats.
	Heartbeat time.Duration
	// CallTimeout cuts one EC2 call that hangs (default 30s).
	CallTimeout time.Duration
	// MaxAttempts bounds attempts after transient errors and throttling
	// (default 10).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the full-jitter exponential backoff
	// between attempts (defaults 500ms and 20s).
	BackoffBase, BackoffMax time.Duration
	// VisibilityWindow is how long InvalidGroup.NotFound is taken for
	// EC2's eventual consistency after the operation started (default 30s).
	VisibilityWindow time.Duration
	// DependencyWindow is how long a delete blocked by DependencyViolation
	// keeps retrying (default 5m).
	DependencyWindow time.Duration
	// ShutdownGrace is how long commands in hand (in flight, or delivered
	// and not yet started) may finish after the worker is told to stop;
	// then they are handed back (default 20s).
	ShutdownGrace time.Duration
	// AfterApply, when set, runs after a command's EC2 calls succeeded and
	// before anything is recorded or acknowledged. Returning false abandons
	// the delivery there, as if the process had died: fault-injection tests
	// use it to prove a redelivery converges.
	AfterApply func(operationID string) bool
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Heartbeat, 5*time.Second)
	def(&o.CallTimeout, 30*time.Second)
	def(&o.BackoffBase, 500*time.Millisecond)
	def(&o.BackoffMax, 20*time.Second)
	def(&o.VisibilityWindow, 30*time.Second)
	def(&o.DependencyWindow, 5*time.Minute)
	def(&o.ShutdownGrace, 20*time.Second)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Worker consumes every command partition.
type Worker struct {
	// lastDelivery is the consumers' MaxDeliver: on that delivery a
	// command is dead-lettered instead of attempted.
	lastDelivery atomic.Uint64
	hbMu         sync.Mutex // guards opts.Heartbeat and ackWaitOf, fitted to the consumers
	ackWaitOf    time.Duration
	opts         Options
	store        *operations.Store
	exec         *executor
	log          *slog.Logger
}

// New binds a worker to the declared streams.
func New(ctx context.Context, o Options) (*Worker, error) {
	o.setDefaults()
	store, err := operations.Open(ctx, o.JetStream, o.Log)
	if err != nil {
		return nil, err
	}
	return &Worker{
		opts:  o,
		store: store,
		exec:  &executor{ec2: o.EC2, budget: o.Budget, callTimeout: o.CallTimeout, visibilityWindow: o.VisibilityWindow},
		log:   o.Log,
	}, nil
}

// Run consumes until ctx ends, then stops taking work and gives the
// commands in hand ShutdownGrace to finish before handing them back.
//
// Stopping drains rather than stops the consumers: a command the server
// already delivered into the client's buffer is run (or handed back at
// once) instead of being dropped, which would hold its partition until
// AckWait expired and spend one of its deliveries for nothing.
func (w *Worker) Run(ctx context.Context) error {
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var consumers []jetstream.ConsumeContext
	defer func() {
		for _, c := range consumers {
			c.Stop()
		}
	}()
	for p := 0; p < bus.Partitions; p++ {
		cons, err := w.opts.JetStream.Consumer(ctx, bus.CommandStream, bus.ConsumerName(p))
		if ctx.Err() != nil {
			return nil // told to stop while starting
		}
		if err != nil {
			return fmt.Errorf("bind consumer %s: %w", bus.ConsumerName(p), err)
		}
		w.fitHeartbeat(cons.CachedInfo().Config.AckWait)
		if md := cons.CachedInfo().Config.MaxDeliver; md > 1 {
			w.lastDelivery.Store(uint64(md))
		}
		cc, err := cons.Consume(func(msg jetstream.Msg) {
			w.handle(work, msg)
		}, jetstream.PullMaxMessages(1), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if !errors.Is(err, jetstream.ErrNoHeartbeat) {
				w.log.DebugContext(ctx, "consume", "error", err)
			}
		}))
		if err != nil {
			return fmt.Errorf("consume %s: %w", bus.ConsumerName(p), err)
		}
		consumers = append(consumers, cc)
	}
	dl, err := w.runDeadLetters(ctx)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return err
	}
	consumers = append(consumers, dl)
	<-ctx.Done()
	// Drain: no new pulls; what was delivered still reaches the handler.
	for _, c := range consumers {
		c.Drain()
	}
	done := make(chan struct{})
	go func() {
		for _, c := range consumers {
			<-c.Closed()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(w.opts.ShutdownGrace):
		stopWork() // handlers hand their commands back, at once
		<-done
	}
	return nil
}

// fitHeartbeat shortens the heartbeat to a third of the consumers' ack
// wait: with a fixed 5 s beat, a bus declared with an ack wait under 5 s
// would redeliver every command a slow EC2 call holds to a second worker.
func (w *Worker) fitHeartbeat(ackWait time.Duration) {
	if ackWait <= 0 {
		return
	}
	w.hbMu.Lock()
	defer w.hbMu.Unlock()
	w.ackWaitOf = ackWait
	if limit := ackWait / 3; w.opts.Heartbeat > limit {
		w.opts.Heartbeat = max(limit, 10*time.Millisecond)
	}
}

func (w *Worker) heartbeatEvery() time.Duration {
	w.hbMu.Lock()
	defer w.hbMu.Unlock()
	return w.opts.Heartbeat
}

// ackWait is the consumers' AckWait.
func (w *Worker) ackWait() time.Duration {
	w.hbMu.Lock()
	defer w.hbMu.Unlock()
	return w.ackWaitOf
}

// current reports whether a delivery is still its consumer's latest. With
// one command in flight per partition, any later delivery on the
// partition (of this command or of the next) means the server gave this
// one up: it waited in this process's buffer past its ack wait.
func (w *Worker) current(ctx context.Context, md *jetstream.MsgMetadata) (bool, error) {
	cons, err := w.opts.JetStream.Consumer(ctx, md.Stream, md.Consumer)
	if err != nil {
		return false, err
	}
	return cons.CachedInfo().Delivered.Consumer <= md.Sequence.Consumer, nil
}

// backoff is full-jitter exponential: random in [0, min(max, base·2^n)).
func (w *Worker) backoff(attempt int, base time.Duration) time.Duration {
	d := base << min(attempt, 20)
	if d <= 0 || d > w.opts.BackoffMax {
		d = w.opts.BackoffMax
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}
