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

	"github.com/nats-io/nats.go"
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
	// MaxCommands bounds the commands one worker runs at once (default
	// 256). Commands waiting for an earlier command of their group to end
	// do not count: they hold no EC2 call.
	MaxCommands int
	// AfterApply, when set, runs after a command's EC2 calls succeeded and
	// before anything is recorded or acknowledged. Returning false abandons
	// the delivery there, as if the process had died: fault-injection tests
	// use it to prove a redelivery converges.
	AfterApply func(operationID string) bool
}

// DefaultMaxCommands is the default of Options.MaxCommands.
const DefaultMaxCommands = 256

// announceTimeout bounds the wait for JetStream's answer to an event
// published without waiting; an event not acknowledged in it is counted
// as unannounced (the record holds it).
const announceTimeout = 10 * time.Second

// announceMaxPending bounds the events published without waiting whose
// answer has not come: two per command in flight, and room to spare.
const announceMaxPending = 4096

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
	if o.MaxCommands <= 0 {
		o.MaxCommands = DefaultMaxCommands
	}
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
	// slots holds a token per command running: MaxCommands at most.
	slots chan struct{}
	// commands is the command stream, where awaitTurn looks for a
	// group's earlier commands; turns wakes it when one ends here.
	commands jetstream.Stream
	turns    turns
}

// New binds a worker to the declared streams.
func New(ctx context.Context, o Options) (*Worker, error) {
	if o.MaxCommands < 0 {
		return nil, fmt.Errorf("max-commands %d: must be at least 1 (0 means %d)", o.MaxCommands, DefaultMaxCommands)
	}
	o.setDefaults()
	store, err := operations.Open(ctx, o.JetStream, o.Log)
	if err != nil {
		return nil, err
	}
	// A command's changes are announced without waiting for JetStream's
	// answer: two round trips fewer per command, while it holds a slot.
	if err := store.AnnounceWithoutWaiting(announceTimeout, announceMaxPending); err != nil {
		return nil, err
	}
	commands, err := o.JetStream.Stream(ctx, bus.CommandStream)
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", bus.CommandStream, err)
	}
	return &Worker{
		opts:     o,
		store:    store,
		exec:     &executor{ec2: o.EC2, budget: o.Budget, callTimeout: o.CallTimeout, visibilityWindow: o.VisibilityWindow},
		log:      o.Log,
		slots:    make(chan struct{}, o.MaxCommands),
		commands: commands,
		turns:    turns{next: map[string]chan struct{}{}},
	}, nil
}

// Run consumes until ctx ends, then stops taking work and gives the
// commands in hand ShutdownGrace to finish before handing them back.
//
// Each partition has a pull loop that takes one of the worker's
// MaxCommands slots, pulls one command (then, for the other free slots
// and if the consumer says more are waiting, a batch of those) and runs
// each on a goroutine of its own, which gives the slot back when the
// command ends: a worker runs up to MaxCommands commands at once, of any
// partitions, and the consumers' MaxAckPending lets every worker process
// have that many. Per-group order is kept by each command waiting for
// its group's turn (see awaitTurn).
//
// A command is pulled only once a slot is free, so it never waits in a
// client buffer: the time the pull was sent bounds its delivery's age,
// which is how hold knows the delivery is still the command's current
// one. Stopping lets each loop's pull in flight end (at most pullWait)
// and runs what it brought, rather than dropping a delivered command,
// which would hold its group until AckWait expired.
func (w *Worker) Run(ctx context.Context) error {
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	pulling, stopPulling := context.WithCancel(ctx)
	defer stopPulling()
	var (
		loops, handlers sync.WaitGroup
		dl              jetstream.ConsumeContext
		err             error
	)
	for p := 0; p < bus.Partitions && err == nil; p++ {
		var cons jetstream.Consumer
		cons, err = w.opts.JetStream.Consumer(ctx, bus.CommandStream, bus.ConsumerName(p))
		if err != nil {
			err = fmt.Errorf("bind consumer %s: %w", bus.ConsumerName(p), err)
			break
		}
		w.fitHeartbeat(cons.CachedInfo().Config.AckWait)
		if md := cons.CachedInfo().Config.MaxDeliver; md > 1 {
			w.lastDelivery.Store(uint64(md))
		}
		loops.Add(1)
		go func() {
			defer loops.Done()
			w.pull(pulling, work, cons, &handlers)
		}()
	}
	if err == nil {
		dl, err = w.runDeadLetters(ctx)
	}
	if err == nil {
		<-ctx.Done()
	}
	if ctx.Err() != nil {
		err = nil // told to stop, perhaps while starting
	}
	stopPulling()
	if dl != nil {
		dl.Drain()
	}
	loops.Wait() // no new pulls; what the last ones brought is running
	done := make(chan struct{})
	go func() {
		handlers.Wait()
		if dl != nil {
			<-dl.Closed()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(w.opts.ShutdownGrace):
		stopWork() // handlers hand their commands back, at once
		<-done
	}
	return err
}

// maxPullWait is how long one pull waits for a command at most: how often
// an idle loop asks again, and how long stopping may wait for a pull in
// flight. A quarter of the consumers' AckWait when that is shorter, so a
// delivery's age as hold bounds it stays well inside its ack wait.
const maxPullWait = 2 * time.Second

func (w *Worker) pullWait() time.Duration {
	if aw := w.ackWait(); aw > 0 && aw/4 < maxPullWait {
		return max(aw/4, 10*time.Millisecond)
	}
	return maxPullWait
}

// pull runs one partition's loop until ctx ends: a free slot, then one
// command, run by handlers on work.
func (w *Worker) pull(ctx, work context.Context, cons jetstream.Consumer, handlers *sync.WaitGroup) {
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case w.slots <- struct{}{}:
		}
		if ctx.Err() != nil { // both were ready: select chose at random
			<-w.slots
			return
		}
		pulled := time.Now()
		msg, err := cons.Next(jetstream.FetchMaxWait(w.pullWait()))
		if err != nil {
			<-w.slots
			if !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
				w.log.DebugContext(ctx, "pull", "consumer", cons.CachedInfo().Name, "error", err)
				sleepCtx(ctx, time.Second) // NATS away: do not spin
			}
			continue
		}
		w.dispatch(work, msg, pulled, handlers)
		if morePending(msg) {
			w.pullMore(work, cons, handlers)
		}
	}
}

// morePending says whether the consumer had commands left to deliver
// when it delivered msg. When it had none, a pull for more would come
// back empty: a round trip for nothing, made once per command when
// commands trickle in, and by every worker process but one when several
// share the partition.
func morePending(msg jetstream.Msg) bool {
	md, err := msg.Metadata()
	return err != nil || md.NumPending > 0
}

// pullBatch bounds the commands one pull brings beyond the first.
const pullBatch = 64

// pullMore takes the free slots there are, up to pullBatch, and pulls as
// many commands as are waiting for them without waiting for more: under
// load, one round trip brings a batch instead of one command.
func (w *Worker) pullMore(work context.Context, cons jetstream.Consumer, handlers *sync.WaitGroup) {
	n := 0
	for ; n < pullBatch; n++ {
		select {
		case w.slots <- struct{}{}:
			continue
		default:
		}
		break
	}
	if n == 0 {
		return
	}
	pulled := time.Now()
	batch, err := cons.FetchNoWait(n)
	if err == nil {
		for msg := range batch.Messages() {
			w.dispatch(work, msg, pulled, handlers)
			n--
		}
	}
	for ; n > 0; n-- {
		<-w.slots
	}
}

// dispatch runs one delivery in the slot taken for it.
func (w *Worker) dispatch(work context.Context, msg jetstream.Msg, pulled time.Time, handlers *sync.WaitGroup) {
	handlers.Add(1)
	go func() {
		defer handlers.Done()
		w.handle(work, msg, pulled, &slot{held: true, slots: w.slots})
	}()
}

// slot is one of the worker's MaxCommands places a command runs in.
// A command waiting for its group's turn gives it up meanwhile.
type slot struct {
	held  bool
	slots chan struct{}
}

// release gives the slot up; nil-safe, and idempotent.
func (s *slot) release() {
	if s == nil || !s.held {
		return
	}
	s.held = false
	<-s.slots
}

// take waits for a free slot, and reports false when ctx ended first.
func (s *slot) take(ctx context.Context) bool {
	if s == nil || s.held {
		return true
	}
	select {
	case s.slots <- struct{}{}:
		s.held = true
		return true
	case <-ctx.Done():
		return false
	}
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

// backoff is full-jitter exponential: random in [0, min(max, base·2^n)).
func (w *Worker) backoff(attempt int, base time.Duration) time.Duration {
	d := base << min(attempt, 20)
	if d <= 0 || d > w.opts.BackoffMax {
		d = w.opts.BackoffMax
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}
