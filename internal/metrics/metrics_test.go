package metrics

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestRegistryPassesLint: every metric the registry gathers follows
// Prometheus' naming conventions (units, _total on counters, no
// abbreviations), as promtool's lint checks them.
func TestRegistryPassesLint(t *testing.T) {
	// Give each vector a series, so the lint sees every name.
	RPCDone("/palisade.v1.SecurityGroupService/CreateSecurityGroup", "OK", time.Millisecond)
	PolicyDecided(true)
	OperationAccepted("OPERATION_KIND_CREATE_SECURITY_GROUP")
	OperationEnded(&palisadev1.OperationMetadata{Kind: palisadev1.OperationKind_OPERATION_KIND_CREATE_SECURITY_GROUP,
		State: palisadev1.OperationState_OPERATION_STATE_SUCCEEDED, CreateTime: timestamppb.New(time.Now().Add(-time.Second))})
	EC2Called("CreateSecurityGroup", "ok", time.Millisecond)
	BudgetWaited("mutating", time.Millisecond)
	DeadLettered(DeadLetterRefused)
	RolloutChildEnded("OPERATION_STATE_SUCCEEDED")
	RolloutEnded("ROLLOUT_STATE_SUCCEEDED")
	RolloutDriving()()
	problems, err := testutil.GatherAndLint(Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	mfs, err := Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, Namespace+"_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") && !strings.HasPrefix(name, "promhttp_") {
			t.Errorf("%s: not under the %s_ prefix", name, Namespace)
		}
	}
}

// TestOperationEndedLabelsAndDuration: enum names become short lower-case
// labels, and the duration runs from acceptance to the recorded end.
func TestOperationEndedLabelsAndDuration(t *testing.T) {
	created := time.Now().Add(-time.Hour)
	md := &palisadev1.OperationMetadata{
		Kind:       palisadev1.OperationKind_OPERATION_KIND_REVOKE_EGRESS,
		State:      palisadev1.OperationState_OPERATION_STATE_CANCELLED,
		CreateTime: timestamppb.New(created), EndTime: timestamppb.New(created.Add(90 * time.Second)),
	}
	before := testutil.ToFloat64(operationsEnded.WithLabelValues("revoke_egress", "cancelled"))
	sumBefore := durationSum(t, "revoke_egress", "cancelled")
	OperationEnded(md)
	if got := testutil.ToFloat64(operationsEnded.WithLabelValues("revoke_egress", "cancelled")); got != before+1 {
		t.Fatalf("ended = %v, want %v", got, before+1)
	}
	if got := durationSum(t, "revoke_egress", "cancelled") - sumBefore; got != 90 {
		t.Errorf("duration = %v s, want 90", got)
	}
	// An operation with no acceptance time is counted, not timed.
	OperationEnded(&palisadev1.OperationMetadata{Kind: palisadev1.OperationKind_OPERATION_KIND_ROLLOUT,
		State: palisadev1.OperationState_OPERATION_STATE_FAILED})
	if got := testutil.ToFloat64(operationsEnded.WithLabelValues("rollout", "failed")); got < 1 {
		t.Fatalf("rollout failed = %v", got)
	}
}

// TestServeAnswersMetricsUntilStopped: the endpoint answers /metrics in
// the text format, and nothing else; it stops when its context ends.
func TestServeAnswersMetricsUntilStopped(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln) }()
	PolicyDecided(false)
	body := get(t, "http://"+ln.Addr().String()+"/metrics", http.StatusOK)
	if !strings.Contains(body, `palisade_policy_decisions_total{decision="deny"}`) {
		t.Errorf("no policy decisions in:\n%.2000s", body)
	}
	get(t, "http://"+ln.Addr().String()+"/other", http.StatusNotFound)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestListenRefusesABadAddress(t *testing.T) {
	_, err := Listen("127.0.0.1:notaport")
	if err == nil || !strings.Contains(err.Error(), "--metrics-listen") {
		t.Fatalf("err = %v, want one naming --metrics-listen", err)
	}
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d", url, resp.StatusCode, want)
	}
	return string(b)
}

func durationSum(t *testing.T, labels ...string) float64 {
	t.Helper()
	var m dto.Metric
	if err := operationDuration.WithLabelValues(labels...).(prometheus.Histogram).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleSum()
}
