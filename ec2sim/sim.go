package ec2sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Options configures a Sim. The zero value is a plain, fast, in-memory EC2
// with no throttling, faults or delays.
type Options struct {
	// DefaultAccountID owns calls whose access key id is not a 12-digit
	// account number. "" means "123456789012".
	DefaultAccountID string
	// Throttle turns on EC2's token buckets, one per (account, region,
	// action), with the published sizes and refill rates.
	Throttle bool
	// SpeedFactor multiplies the refill rates (0 or 1: real rates). Bucket
	// sizes stay EC2's, so bursts behave as in production while tests run
	// faster.
	SpeedFactor float64
	// FaultRate is the fraction of calls answered InternalError (500) or
	// Unavailable (503), half each. A faulted call has no effect.
	FaultRate float64
	// Latency is added to every call.
	Latency time.Duration
	// DropRate is the fraction of calls whose connection is closed without a
	// response. The call takes effect first: a dropped answer is the case an
	// idempotent client must survive.
	DropRate float64
	// ConsistencyDelay keeps a new VPC, group or rule invisible to later
	// calls for this long, as EC2's eventual consistency does: describes omit
	// it, and calls naming it fail with its NotFound code. Writes still see it,
	// so creating the same name again is a duplicate and re-adding the same
	// rule is InvalidPermission.Duplicate.
	ConsistencyDelay time.Duration
	// StateFile, if set, is loaded by New, and each call that changed state
	// appends its change to StateFile+".journal" before answering; the
	// journal is folded into a new StateFile from time to time (see
	// persist.go for the format and the crash guarantees).
	StateFile string
	// SyncJournal fsyncs the journal after every change, so an operating
	// system crash or power loss loses no acknowledged change either. Off,
	// a crash of the process still loses nothing.
	SyncJournal bool
	// Seed seeds the fault and drop randomness (0: time-based).
	Seed int64
	// Now replaces time.Now for throttling and consistency, so tests can
	// drive both deterministically. Latency always uses real time.
	Now func() time.Time
}

// Sim is an EC2-compatible HTTP endpoint for security groups. It is safe for
// concurrent use.
type Sim struct {
	opts   Options
	now    func() time.Time
	limits limits

	mu     sync.RWMutex
	worlds map[worldKey]*world

	faults   *faults
	throttle *throttle
	stats    *stats
	saveMu   sync.Mutex
	journal  journalState // guarded by saveMu, fresh by mu
}

// limits are EC2's default quotas. They are fields so tests inside the
// package can shrink them; the public API keeps EC2's values.
type limits struct {
	rulesPerDirection int // per group, direction and IP family
	groupsPerVPC      int
	tagsPerResource   int
	vpcsPerRegion     int
	noDefaultVPC      bool // simulate an account whose default VPC was deleted
}

// EC2's defaults and the protocol's fixed values.
const (
	defaultAccountID         = "123456789012"
	defaultRegion            = "us-east-1"
	apiVersion               = "2016-11-15"
	xmlNamespace             = "http://ec2.amazonaws.com/doc/2016-11-15/"
	defaultRulesPerDirection = 60
	defaultGroupsPerVPC      = 2500
	defaultTagsPerResource   = 50
	defaultVpcsPerRegion     = 5
	maxTagResourcesPerCall   = 1000
	maxDescriptionLen        = 255
	maxGroupNameLen          = 255
	maxTagKeyLen             = 128
	maxTagValueLen           = 256
	describeMinResults       = 5
	describeMaxResults       = 1000
	// maxBodyBytes and maxParams bound what one request may make the
	// simulator parse; EC2's own limits are lower than any real request here.
	maxBodyBytes = 1 << 20
	maxParams    = 20000
	maxCallLog   = 100000
)

type worldKey struct{ account, region string }

// New returns a Sim configured by opts, loading opts.StateFile if it exists.
func New(opts Options) (*Sim, error) {
	if opts.DefaultAccountID == "" {
		opts.DefaultAccountID = defaultAccountID
	}
	if !isAccountID(opts.DefaultAccountID) {
		return nil, fmt.Errorf("ec2sim: DefaultAccountID %q is not a 12-digit account id", opts.DefaultAccountID)
	}
	for name, r := range map[string]float64{"FaultRate": opts.FaultRate, "DropRate": opts.DropRate} {
		if r < 0 || r > 1 {
			return nil, fmt.Errorf("ec2sim: %s %v is outside [0, 1]", name, r)
		}
	}
	if opts.SpeedFactor < 0 || opts.Latency < 0 || opts.ConsistencyDelay < 0 {
		return nil, errors.New("ec2sim: SpeedFactor, Latency and ConsistencyDelay must not be negative")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Sim{
		opts: opts,
		now:  now,
		limits: limits{
			rulesPerDirection: defaultRulesPerDirection,
			groupsPerVPC:      defaultGroupsPerVPC,
			tagsPerResource:   defaultTagsPerResource,
			vpcsPerRegion:     defaultVpcsPerRegion,
		},
		worlds:   make(map[worldKey]*world),
		faults:   newFaults(opts.Seed, opts.FaultRate, opts.Latency, opts.DropRate),
		throttle: newThrottle(opts.Throttle, opts.SpeedFactor),
		stats:    &stats{limit: maxCallLog},
	}
	if opts.StateFile != "" {
		s.journal.compactMin = compactMinBytes
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SetFaults changes the fault rate, added latency and drop rate at run time.
// Rates are clamped to [0, 1].
func (s *Sim) SetFaults(rate float64, latency time.Duration, dropRate float64) {
	s.faults.set(clamp01(rate), max(latency, 0), clamp01(dropRate))
}

// SetThrottle turns throttling on or off and sets the refill speed factor.
// Turning it on starts every bucket full.
func (s *Sim) SetThrottle(on bool, speedFactor float64) {
	s.throttle.set(on, speedFactor)
}

// Counters returns, per action, how many calls ended with each outcome ("OK"
// or the error code). Calls that named no known action count under
// "Unknown".
func (s *Sim) Counters() map[string]map[string]int64 { return s.stats.counters() }

// ResetCounters clears the counters and the call log, and starts the peak
// of calls in flight again from the calls in flight now.
func (s *Sim) ResetCounters() { s.stats.reset() }

// PeakInFlight returns the most calls the endpoint has served at once
// (arrived, not yet answered) since the counters were last reset.
func (s *Sim) PeakInFlight() int { return s.stats.peakInFlight() }

// CallLog returns the calls in arrival order. It keeps the most recent
// 100 000 calls so a long-running endpoint does not grow without bound.
func (s *Sim) CallLog() []Call { return s.stats.log() }

// Call is one entry of the call log.
type Call struct {
	Time      time.Time
	Account   string
	Region    string
	Action    string
	GroupID   string // the group the call addressed or created, if any
	Outcome   string // "OK", an error code, or "Dropped"
	RequestID string
}

// ListenAndServe serves the endpoint on addr until ctx ends, then shuts the
// server down, giving in-flight calls up to five seconds to finish.
func (s *Sim) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("ec2sim: listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("ec2sim: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	if shutdownErr != nil {
		_ = srv.Close()
	}
	serveErr := <-errc
	if shutdownErr != nil {
		return fmt.Errorf("ec2sim: shutdown: %w", shutdownErr)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("ec2sim: serve: %w", serveErr)
	}
	return nil
}

// world returns the (account, region) world, creating it with its default
// VPC on first use. The default VPC exists from the start of time, so it and
// its default group are visible even under a consistency delay.
func (s *Sim) world(account, region string) *world {
	k := worldKey{account, region}
	s.mu.RLock()
	w := s.worlds[k]
	s.mu.RUnlock()
	if w != nil {
		return w
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w = s.worlds[k]; w == nil {
		w = newWorld(account, region)
		if s.opts.StateFile != "" {
			w.track = true
			s.journal.fresh = append(s.journal.fresh, w)
		}
		if !s.limits.noDefaultVPC {
			w.addVPC("172.31.0.0/16", false, true, "default", nil, time.Time{})
		}
		s.worlds[k] = w
	}
	return w
}

func clamp01(x float64) float64 { return min(max(x, 0), 1) }

func isAccountID(s string) bool { return len(s) == 12 && isDigits(s) }
