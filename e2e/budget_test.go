package e2e

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ratebudget"
)

// TestAPIReadsSpendTheSharedBudget: the API's reads of EC2 spend from the
// rate budget the workers share. When another process has used up the
// account's DescribeSecurityGroups bucket, a read waits for room until its
// deadline and then answers RESOURCE_EXHAUSTED without calling EC2; reads
// of another account are not held back.
func TestAPIReadsSpendTheSharedBudget(t *testing.T) {
	const factor = 1e-6 // the buckets hardly refill during the test
	e := newEnv(t, envOptions{apiRateFactor: factor})
	ids := e.makeGroups(account, region, "budget", 1, nil)
	other := &palisadev1.Location{AccountId: "444455556666", Region: region}
	otherIDs := e.makeGroups(other.GetAccountId(), other.GetRegion(), "budget", 1, nil)

	// Another process (a worker, say) spends the whole bucket.
	worker, err := ratebudget.NewShared(e.ctx, e.js, factor)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
		err := worker.Wait(ctx, account, region, "DescribeSecurityGroups")
		cancel()
		if err != nil {
			t.Logf("the bucket held %d tokens", i)
			break
		}
		if i > 1000 {
			t.Fatal("the bucket never ran dry")
		}
	}
	e.sim.ResetCounters()
	ctx, cancel := context.WithTimeout(e.ctx, time.Second)
	defer cancel()
	_, err = e.sg.GetSecurityGroup(ctx, &palisadev1.GetSecurityGroupRequest{Location: loc, GroupId: ids[0]})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("read with the budget spent: %v, want RESOURCE_EXHAUSTED", err)
	}
	if calls := e.sim.CallLog(); len(calls) != 0 {
		t.Fatalf("the read called EC2 without budget: %+v", calls)
	}
	g, err := e.sg.GetSecurityGroup(e.ctx, &palisadev1.GetSecurityGroupRequest{Location: other, GroupId: otherIDs[0]})
	if err != nil || g.GetGroupId() != otherIDs[0] {
		t.Fatalf("read in another account: %v, %v", g, err)
	}
}
