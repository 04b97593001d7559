package ec2client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/palisadehq/palisade/internal/metrics"
)

func TestOutcome(t *testing.T) {
	api := func(code string) error {
		return fmt.Errorf("operation error EC2: %w", &smithy.GenericAPIError{Code: code, Message: "m"})
	}
	for err, want := range map[error]string{
		nil:                                      OutcomeOK,
		api("RequestLimitExceeded"):              OutcomeThrottled,
		api("Client.RequestLimitExceeded"):       OutcomeThrottled,
		api("InternalError"):                     OutcomeFaulted,
		errors.New("dial tcp: connection reset"): OutcomeFaulted,
		api("InvalidGroup.NotFound"):             "not_visible",
		api("DependencyViolation"):               "dependency",
		api("InvalidPermission.Duplicate"):       "terminal",
		api("SomethingNew"):                      "terminal",
		fmt.Errorf("x: %w", context.Canceled):    OutcomeCancelled,
		context.DeadlineExceeded:                 OutcomeCancelled,
	} {
		if got := Outcome(err); got != want {
			t.Errorf("Outcome(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestEveryCallIsCounted: a client from the factory counts its calls by
// action and outcome, an EC2 error code among them, with no further
// wiring.
func TestEveryCallIsCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors><RequestID>r</RequestID></Response>`))
	}))
	t.Cleanup(srv.Close)
	f, err := New(context.Background(), Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	count := func() float64 { return callCount(t, "DescribeVpcs", OutcomeThrottled) }
	before := count()
	if _, err := f.Client("111122223333", "eu-west-1").DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{}); err == nil {
		t.Fatal("a throttled call succeeded")
	}
	if got := count() - before; got != 1 {
		t.Fatalf("throttled DescribeVpcs counted %v times, want 1", got)
	}
}

// callCount reads one series of palisade_ec2_calls_total from the
// registry, as a scrape would.
func callCount(t *testing.T, action, outcome string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "palisade_ec2_calls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["action"] == action && l["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
