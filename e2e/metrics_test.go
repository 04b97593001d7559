package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/ratebudget"
	"github.com/palisadehq/palisade/workers"
)

// scraper reads the process's /metrics over HTTP, as Prometheus does.
type scraper struct {
	t   *testing.T
	url string
}

// startMetrics serves the registry on a free loopback port until the test
// ends, and watches the stack's NATS connection and command consumers as
// `palisade worker` does.
func startMetrics(t *testing.T, e *env) *scraper {
	t.Helper()
	ln, err := metrics.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- metrics.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	metrics.WatchConnection("palisade-api", e.stack.APIConn)
	names := make([]string, bus.Partitions)
	for p := range names {
		names[p] = bus.ConsumerName(p)
	}
	metrics.WatchConsumers(e.js, bus.CommandStream, names)
	return &scraper{t: t, url: "http://" + ln.Addr().String() + "/metrics"}
}

// scrape returns every family the endpoint shows.
func (s *scraper) scrape() map[string]*dto.MetricFamily {
	s.t.Helper()
	resp, err := http.Get(s.url)
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("GET %s: %s: %s", s.url, resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return mfs
}

// value sums the series of name (a counter, a gauge, or a histogram's
// count under name_count) whose labels include want ("k=v" pairs).
func value(mfs map[string]*dto.MetricFamily, name string, want ...string) float64 {
	base, count := strings.CutSuffix(name, "_count")
	mf := mfs[name]
	if count {
		mf = mfs[base]
	}
	sum := 0.0
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// moved waits until the series has grown by at least delta since before:
// workers record an operation's end just after the API shows it ended.
func (s *scraper) moved(before map[string]*dto.MetricFamily, delta float64, name string, labels ...string) {
	s.t.Helper()
	from := value(before, name, labels...)
	deadline := time.Now().Add(15 * time.Second)
	for {
		now := value(s.scrape(), name, labels...)
		if now-from >= delta {
			return
		}
		if time.Now().After(deadline) {
			s.t.Errorf("%s{%s}: %v -> %v, want at least +%v", name, strings.Join(labels, ","), from, now, delta)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMetricsMoveWithRealOperations: /metrics, scraped over HTTP, counts
// what a real stack did: the calls the API answered and how, the policy's
// decisions, operations accepted and ended with their duration, EC2 calls
// by outcome (a fault the endpoint injects among them), the rate budget's
// waits, a rollout and its children, a dead-lettered command, and the
// state of NATS and of each command partition.
func TestMetricsMoveWithRealOperations(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1, worker: workerWithBudget()})
	e.startRollouts(workerWithBudget())
	s := startMetrics(t, e)
	before := s.scrape()

	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "metrics", Description: "metrics"})
	if err != nil {
		t.Fatal(err)
	}
	group := e.succeeded(op).GetGroupId()
	_, err = e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "", Description: "no name"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("nameless group: %v, want INVALID_ARGUMENT", err)
	}
	ids := e.makeGroups(account, region, "metrics-rollout", 2, nil)
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		RequestId: "5f0d9b52-8c1e-4b7a-a0d3-6e2f4c8b9a10",
		Change:    &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.60.0.0/16")}},
		Targets:   []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
	})
	if ro := e.watchRollout(name, nil); ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
		t.Fatalf("rollout ended %v: %s", ro.GetState(), ro.GetStateReason())
	}
	if _, err := e.js.Publish(e.ctx, bus.CommandSubject(account, region, group), []byte("\xff not a command")); err != nil {
		t.Fatal(err)
	}
	e.sim.SetFaults(1, 0, 0)
	if _, err := e.ec2.Client(account, region).DescribeSecurityGroups(e.ctx, &ec2.DescribeSecurityGroupsInput{}); err == nil {
		t.Fatal("a call with every call faulted succeeded")
	}
	e.sim.SetFaults(0, 0, 0)

	create := "rpc=/palisade.v1.SecurityGroupService/CreateSecurityGroup"
	s.moved(before, 1, "palisade_api_request_duration_seconds_count", create, "code=OK")
	s.moved(before, 1, "palisade_api_request_duration_seconds_count", create, "code=InvalidArgument")
	s.moved(before, 2, "palisade_policy_decisions_total", "decision=allow")
	s.moved(before, 1, "palisade_operations_accepted_total", "kind=create_security_group")
	s.moved(before, 1, "palisade_operations_accepted_total", "kind=rollout")
	s.moved(before, 1, "palisade_operations_ended_total", "kind=create_security_group", "state=succeeded")
	s.moved(before, 1, "palisade_operations_duration_seconds_count", "kind=create_security_group", "state=succeeded")
	s.moved(before, 2, "palisade_operations_ended_total", "kind=apply_rule_change", "state=succeeded")
	s.moved(before, 1, "palisade_operations_ended_total", "kind=rollout", "state=succeeded")
	s.moved(before, 1, "palisade_ec2_calls_total", "action=CreateSecurityGroup", "outcome=ok")
	s.moved(before, 1, "palisade_ec2_calls_total", "action=DescribeSecurityGroups", "outcome=faulted")
	s.moved(before, 1, "palisade_ec2_call_duration_seconds_count", "action=CreateSecurityGroup")
	s.moved(before, 1, "palisade_ratebudget_wait_seconds_count", "category=mutating")
	s.moved(before, 2, "palisade_rollout_children_ended_total", "state=succeeded")
	s.moved(before, 1, "palisade_rollout_ended_total", "state=succeeded")
	s.moved(before, 1, "palisade_commands_dead_lettered_total", "reason=refused")

	after := s.scrape()
	if v := value(after, "palisade_nats_connected", "connection=palisade-api"); v != 1 {
		t.Errorf("palisade_nats_connected{connection=palisade-api} = %v, want 1", v)
	}
	if v := value(after, "palisade_commands_consumer_info_up"); v != 1 {
		t.Errorf("palisade_commands_consumer_info_up = %v, want 1", v)
	}
	if n := len(after["palisade_commands_pending"].GetMetric()); n != bus.Partitions {
		t.Errorf("palisade_commands_pending has %d series, want one per partition (%d)", n, bus.Partitions)
	}
	if v := value(after, "palisade_commands_pending") + value(after, "palisade_commands_in_flight"); v != 0 {
		t.Errorf("%v commands pending or in flight after every operation ended, want 0", v)
	}
	for name := range after {
		for _, bad := range []string{group, ids[0], account, "operations/"} {
			if strings.Contains(fmt.Sprint(after[name]), bad) {
				t.Errorf("%s carries %q: a label of unbounded cardinality", name, bad)
			}
		}
	}
}

// TestCommandsPendingShowsAWaitingCommand: with no worker running, an
// accepted command shows as pending on its partition; with NATS gone the
// scrape says the consumers could not be read and the connection is down.
func TestCommandsPendingShowsAWaitingCommand(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := startMetrics(t, e)
	if _, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "waits", Description: "waits"}); err != nil {
		t.Fatal(err)
	}
	// The consumer counts a stored message as pending a moment after the
	// stream stores it (the server tells its consumers asynchronously).
	s.reaches(1, "palisade_commands_pending")
	e.ns.Shutdown()
	s.reaches(0, "palisade_commands_consumer_info_up")
	s.reaches(0, "palisade_nats_connected", "connection=palisade-api")
}

// reaches waits until the series shows want: the client learns that its
// connection dropped a moment after the server went.
func (s *scraper) reaches(want float64, name string, labels ...string) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v := value(s.scrape(), name, labels...)
		if v == want {
			return
		}
		if time.Now().After(deadline) {
			s.t.Errorf("%s{%s} = %v, want %v", name, strings.Join(labels, ","), v, want)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// workerWithBudget paces EC2 calls in a budget of this process, so the
// rate budget's waits are observed.
func workerWithBudget() workers.Options {
	o := envWorker()
	o.Budget = ratebudget.New(100)
	return o
}
