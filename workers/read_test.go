package workers

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ec2errors"
	"github.com/palisadehq/palisade/palisadetest/infratest"
)

// TestReadTriesAgainOnFaultsOnly makes reads against the local endpoint
// over HTTP: a faulted read is made again up to readRetries more times and
// its last fault returned, an answer other than a fault is returned at
// once, and a read that succeeds is made once.
func TestReadTriesAgainOnFaultsOnly(t *testing.T) {
	infra := infratest.Start(t, infratest.Options{})
	ctx := infra.Context()
	x := &executor{ec2: infra.EC2, callTimeout: 5 * time.Second}
	tg := x.target("op", &palisadev1.Location{AccountId: staleAccount, Region: staleRegion})
	describe := func(ids ...string) error {
		_, err := read(ctx, x, tg, "DescribeSecurityGroups", func(ctx context.Context) (*ec2.DescribeSecurityGroupsOutput, error) {
			return tg.client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
		})
		return err
	}
	calls := func() int {
		defer infra.Sim.ResetCounters()
		return len(infra.Sim.CallLog())
	}

	infra.Sim.ResetCounters()
	infra.Sim.SetFaults(1, 0, 0)
	err := describe()
	if c := classify(err).class; c != ec2errors.Transient {
		t.Fatalf("every call faulted: got %v (%v), want a transient fault", err, c)
	}
	if got := calls(); got != readRetries+1 {
		t.Errorf("every call faulted: %d calls, want %d", got, readRetries+1)
	}

	infra.Sim.SetFaults(0, 0, 0)
	if err := describe("sg-0123456789abcdef0"); ec2errors.Code(err) != "InvalidGroup.NotFound" {
		t.Fatalf("unknown group: got %v, want InvalidGroup.NotFound", err)
	}
	if got := calls(); got != 1 {
		t.Errorf("unknown group: %d calls, want 1 (not a fault: not made again)", got)
	}

	if err := describe(); err != nil {
		t.Fatal(err)
	}
	if got := calls(); got != 1 {
		t.Errorf("a read that succeeds: %d calls, want 1", got)
	}

	// A caller who stopped waiting ends the tries, whatever the fault.
	infra.Sim.SetFaults(1, 0, 0)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := read(cctx, x, tg, "DescribeSecurityGroups", func(ctx context.Context) (*ec2.DescribeSecurityGroupsOutput, error) {
		return tg.client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	}); err == nil {
		t.Error("a read under a cancelled context succeeded")
	}
	if got := calls(); got > 1 {
		t.Errorf("cancelled: %d calls, want at most 1", got)
	}
}
