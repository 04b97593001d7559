// Package metrics holds Palisade's Prometheus metrics: one registry per
// process, the instruments every part records into, and the /metrics
// handler that exposes them.
//
// The registry is process-wide, as Prometheus' own default is: `palisade
// serve` runs the API and a worker in one process, and one scrape sees
// both. Labels are bounded sets only (an RPC, a kind, a state, an EC2
// action, an outcome, a partition): never a group, an operation, an
// account or a caller, which would make a series per resource.
package metrics

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// Namespace prefixes every metric Palisade defines.
const Namespace = "palisade"

// Registry is the process's registry: the Go runtime and process
// collectors, and every metric below.
var Registry = prometheus.NewRegistry()

// own records every collector of Palisade's own, for Names.
var own []prometheus.Collector

// ownRegisterer registers on Registry and records what it registered.
type ownRegisterer struct{ prometheus.Registerer }

func (r ownRegisterer) Register(c prometheus.Collector) error {
	if err := r.Registerer.Register(c); err != nil {
		return err
	}
	own = append(own, c)
	return nil
}

func (r ownRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

var factory = promauto.With(ownRegisterer{Registry})

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names lists the names of Palisade's own metrics, sorted: what the
// alert rules and the dashboard may refer to (a histogram's series add
// _bucket, _sum and _count).
func Names() []string {
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range own {
			c.Describe(ch)
		}
		close(ch)
	}()
	var names []string
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
}

// latencyBuckets span a cached read (a millisecond) to an accept that
// waited on a JetStream fsync under load (seconds).
var latencyBuckets = prometheus.ExponentialBuckets(0.001, 2, 14)

var (
	rpcDuration = factory.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "api", Name: "request_duration_seconds",
		Help:    "Time the API took to answer a unary call, by RPC and gRPC status code (an accepted change is answered once JetStream stored it).",
		Buckets: latencyBuckets,
	}, []string{"rpc", "code"})

	policyDecisions = factory.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "policy", Name: "decisions_total",
		Help: "Policy decisions on changes and reads, by decision (allow, deny).",
	}, []string{"decision"})

	operationsAccepted = factory.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "operations", Name: "accepted_total",
		Help: "Operations stored on JetStream (new ones; a repeated request is not counted), by kind.",
	}, []string{"kind"})

	operationsEnded = factory.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "operations", Name: "ended_total",
		Help: "Operations that reached an end state, by kind and state (succeeded, failed, cancelled).",
	}, []string{"kind", "state"})

	operationDuration = factory.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "operations", Name: "duration_seconds",
		Help:    "Time from an operation's acceptance to its end, by kind and end state.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
	}, []string{"kind", "state"})

	ec2Calls = factory.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "ec2", Name: "calls_total",
		Help: "EC2 and STS calls, by action and outcome (ok, throttled, faulted, not_visible, dependency, terminal, cancelled).",
	}, []string{"action", "outcome"})

	ec2Duration = factory.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "ec2", Name: "call_duration_seconds",
		Help:    "Time of one EC2 or STS call, retries of the SDK's own included, by action.",
		Buckets: latencyBuckets,
	}, []string{"action"})

	budgetWait = factory.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "ratebudget", Name: "wait_seconds",
		Help:    "Time an EC2 call waited for a token of its (account, region) rate budget, by EC2 throttling category.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"category"})

	deadLettered = factory.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "commands", Name: "dead_lettered_total",
		Help: "Commands moved to the dead-letter stream, by reason (refused: invalid or undecodable; exhausted: out of deliveries; foreign: under the id of another command's operation).",
	}, []string{"reason"})

	rolloutChildren = factory.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "rollout", Name: "children_ended_total",
		Help: "Rollout children (one group's change) that reached an end state, by state.",
	}, []string{"state"})

	rolloutsEnded = factory.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "rollout", Name: "ended_total",
		Help: "Rollouts that reached an end state, by state.",
	}, []string{"state"})

	rolloutsDriven = factory.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "rollout", Name: "driven",
		Help: "Rollouts this process is driving now.",
	})
)

// RPCDone records one answered unary call; rpc is the full method name,
// a bounded set.
func RPCDone(rpc, code string, took time.Duration) {
	rpcDuration.WithLabelValues(rpc, code).Observe(took.Seconds())
}

// PolicyDecided counts one decision.
func PolicyDecided(allowed bool) {
	d := "deny"
	if allowed {
		d = "allow"
	}
	policyDecisions.WithLabelValues(d).Inc()
}

// OperationAccepted counts an operation stored for the first time; kind
// is an enum name such as OPERATION_KIND_CREATE_SECURITY_GROUP.
func OperationAccepted(kind string) {
	operationsAccepted.WithLabelValues(enumLabel(kind, "OPERATION_KIND_")).Inc()
}

// OperationEnded counts an operation that just reached its end state, as
// its metadata says, and the time from its acceptance to its end.
func OperationEnded(md *palisadev1.OperationMetadata) {
	k, st := enumLabel(md.GetKind().String(), "OPERATION_KIND_"), enumLabel(md.GetState().String(), "OPERATION_STATE_")
	operationsEnded.WithLabelValues(k, st).Inc()
	if md.GetCreateTime() == nil {
		return
	}
	end := time.Now()
	if md.GetEndTime() != nil {
		end = md.GetEndTime().AsTime()
	}
	if took := end.Sub(md.GetCreateTime().AsTime()); took >= 0 {
		operationDuration.WithLabelValues(k, st).Observe(took.Seconds())
	}
}

// EC2Called records one EC2 or STS call.
func EC2Called(action, outcome string, took time.Duration) {
	ec2Calls.WithLabelValues(action, outcome).Inc()
	ec2Duration.WithLabelValues(action).Observe(took.Seconds())
}

// BudgetWaited records the wait of one call for its rate budget.
func BudgetWaited(category string, took time.Duration) {
	budgetWait.WithLabelValues(category).Observe(took.Seconds())
}

// Dead-letter reasons.
const (
	DeadLetterRefused   = "refused"
	DeadLetterExhausted = "exhausted"
	// DeadLetterForeign: a command under the id of an operation recorded
	// for a different command; that operation is left as it is.
	DeadLetterForeign = "foreign"
)

// DeadLettered counts one command moved to the dead-letter stream.
func DeadLettered(reason string) { deadLettered.WithLabelValues(reason).Inc() }

// RolloutChildEnded counts a rollout child's end; state is an
// OperationState name.
func RolloutChildEnded(state string) {
	rolloutChildren.WithLabelValues(enumLabel(state, "OPERATION_STATE_")).Inc()
}

// RolloutDriving marks a rollout taken up by this process; the function
// it returns marks it let go.
func RolloutDriving() (done func()) {
	rolloutsDriven.Inc()
	return rolloutsDriven.Dec
}

// RolloutEnded counts a rollout's end; state is a RolloutState name.
func RolloutEnded(state string) {
	rolloutsEnded.WithLabelValues(enumLabel(state, "ROLLOUT_STATE_")).Inc()
}

// enumLabel turns a protobuf enum name into a label value:
// OPERATION_STATE_SUCCEEDED -> succeeded.
func enumLabel(name, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}
