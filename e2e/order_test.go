package e2e

import (
	"fmt"
	"sync"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestPerGroupOrder accepts a chain of changes to each of several groups
// while no worker runs, interleaving the groups, then lets three workers
// loose. Each group's operations must run one at a time in the order they
// were accepted; groups may overlap.
func TestPerGroupOrder(t *testing.T) {
	e := newEnv(t, envOptions{workers: 0})
	setup := e.startWorker(envWorker())
	const groups, perGroup = 4, 8
	ids := make([]string, groups)
	for g := range ids {
		op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{
			Location: loc, GroupName: fmt.Sprintf("order-%d", g), Description: "order"})
		if err != nil {
			t.Fatal(err)
		}
		ids[g] = e.succeeded(op).GetGroupId()
	}
	setup()

	// Accept each request before sending the next, so acceptance order is
	// known; groups are submitted concurrently with each other.
	chains := make([][]*longrunningpb.Operation, groups)
	var wg sync.WaitGroup
	for g := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perGroup; i++ {
				cidr := fmt.Sprintf("10.%d.%d.0/24", g, i)
				var op *longrunningpb.Operation
				var err error
				if i%3 == 2 { // revoke the previous rule now and then
					op, err = e.sg.RevokeSecurityGroupIngress(e.ctx, &palisadev1.RevokeSecurityGroupIngressRequest{Location: loc, GroupId: ids[g],
						IpPermissions: []*palisadev1.IpPermission{tcp(443, 443, fmt.Sprintf("10.%d.%d.0/24", g, i-1))}})
				} else {
					op, err = e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: ids[g],
						IpPermissions: []*palisadev1.IpPermission{tcp(443, 443, cidr)}})
				}
				if err != nil {
					t.Error(err)
					return
				}
				chains[g] = append(chains[g], op)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 3; i++ {
		e.startWorker(envWorker())
	}
	for g, chain := range chains {
		var prev *palisadev1.OperationMetadata
		for i, op := range chain {
			md := metadata(t, e.wait(op))
			if md.GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
				t.Fatalf("group %d op %d: %v", g, i, md.GetState())
			}
			if prev != nil && md.GetStartTime().AsTime().Before(prev.GetEndTime().AsTime()) {
				t.Errorf("group %d: op %d started at %v, before op %d ended at %v",
					g, i, md.GetStartTime().AsTime(), i-1, prev.GetEndTime().AsTime())
			}
			prev = md
		}
	}
	// The end state follows from the order: rules 0,1 and 3,4 and 6,7 of
	// each chain were added, 1, 4 were revoked right after.
	c := e.ec2.Client(account, region)
	for _, id := range ids {
		assertRules(t, c, id, 4, 1)
	}
}
