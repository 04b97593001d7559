package e2e

import (
	"sort"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/aws/aws-sdk-go-v2/aws"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

const (
	account2 = "444455556666"
	region2  = "eu-west-1"
)

// TestRolloutByTagWithCanary rolls one rule out to 52 groups tagged
// team=payments in two accounts and two regions, with a canary of 4: the
// other groups start only after every canary group succeeded, untagged
// groups are left alone, and every tagged group ends with the rule once.
func TestRolloutByTagWithCanary(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	e.startRollouts(envWorker())
	payments := map[string]string{"team": "payments"}
	type place struct{ account, region string }
	places := []place{{account, region}, {account, region2}, {account2, region}, {account2, region2}}
	var targets []*palisadev1.RolloutTarget
	tagged := map[place][]string{}
	decoys := map[place][]string{}
	for _, p := range places {
		tagged[p] = e.makeGroups(p.account, p.region, "pay", 13, payments)
		decoys[p] = e.makeGroups(p.account, p.region, "other", 2, map[string]string{"team": "search"})
		targets = append(targets, &palisadev1.RolloutTarget{Location: &palisadev1.Location{AccountId: p.account, Region: p.region}, Tags: payments})
	}
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change:   &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.50.0.0/16")}},
		Targets:  targets,
		Strategy: &palisadev1.RolloutStrategy{MaxInFlight: 8, CanarySize: 4},
	})
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
		t.Fatalf("rollout ended %v: %s", ro.GetState(), ro.GetStateReason())
	}
	p := ro.GetProgress()
	if p.GetTotalGroups() != 52 || p.GetSucceeded() != 52 || p.GetCanarySize() != 4 || p.GetCanarySucceeded() != 4 {
		t.Fatalf("progress = %v", p)
	}
	if len(ro.GetPlan().GetLocations()) != 4 {
		t.Fatalf("plan locations = %v", ro.GetPlan().GetLocations())
	}
	for _, pl := range places {
		for _, id := range tagged[pl] {
			if r := e.ingress(pl.account, pl.region, id); len(r) != 1 || aws.ToString(r[0].CidrIpv4) != "10.50.0.0/16" {
				t.Fatalf("%v group %s ingress = %v", pl, id, r)
			}
		}
		for _, id := range decoys[pl] {
			if r := e.ingress(pl.account, pl.region, id); len(r) != 0 {
				t.Fatalf("untagged group %s was changed: %v", id, r)
			}
		}
	}

	// The canary ran alone: the first four children (by queueing time)
	// all ended before the fifth was queued, and each region had one.
	children := e.childOps(name)
	if len(children) != 52 {
		t.Fatalf("%d child operations, want 52", len(children))
	}
	var canaryEnd time.Time
	regions := map[string]bool{}
	for _, md := range children[:4] {
		canaryEnd = maxTime(canaryEnd, md.GetEndTime().AsTime())
		regions[md.GetAccountId()+"/"+md.GetRegion()] = true
	}
	if next := children[4].GetCreateTime().AsTime(); next.Before(canaryEnd) {
		t.Fatalf("group %s queued at %v, before the canary ended at %v", children[4].GetGroupId(), next, canaryEnd)
	}
	if len(regions) != 4 {
		t.Fatalf("canary covered %v, want every account and region", regions)
	}
}

// childOps returns the metadata of a rollout's child operations, in the
// order they were queued.
func (e *env) childOps(rollout string) []*palisadev1.OperationMetadata {
	e.t.Helper()
	var out []*palisadev1.OperationMetadata
	token := ""
	for {
		resp, err := e.ops.ListOperations(e.ctx, &longrunningpb.ListOperationsRequest{
			Name: "operations", Filter: "kind=APPLY_RULE_CHANGE", PageSize: 1000, PageToken: token,
		})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, op := range resp.GetOperations() {
			if md := metadata(e.t, op); md.GetRollout() == rollout {
				out = append(out, md)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetCreateTime().AsTime().Before(out[j].GetCreateTime().AsTime()) })
	return out
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
