package e2e

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ec2limits"
)

// Fleet search benchmark shape: 8 accounts × 12 regions × 60 groups, each
// group with an HTTPS rule open to the world and SSH from inside; a few
// groups also allow 22 from 0.0.0.0/0.
const (
	searchBenchAccounts = 8
	searchBenchRegions  = 12
	searchBenchGroups   = 60
	searchBenchPlanted  = 7
)

var searchBenchRegionNames = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2",
	"eu-central-1", "ap-south-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "sa-east-1",
}

// BenchmarkFleetSearch asks 96 accounts and regions holding 5,760 groups
// which groups allow 22 from anywhere, against the local EC2 endpoint
// throttling with EC2's bucket sizes and refill rates, the API pacing its
// reads in the shared budget at the same rates. It checks the answer is
// exactly the planted groups and reports the time of one search against
// EC2's sustained Describe rate (the calls of the busiest target at the
// refill rate, as if its bucket started empty) and the throttled calls.
//
//	go test -run '^$' -bench FleetSearch -benchtime 5x ./e2e/
func BenchmarkFleetSearch(b *testing.B) {
	e := newEnv(b, envOptions{apiRateFactor: 1})
	var targets []*palisadev1.Location
	planted := map[string]bool{}
	for a := 0; a < searchBenchAccounts; a++ {
		acct := fmt.Sprintf("%012d", 210000000000+a)
		for r := 0; r < searchBenchRegions; r++ {
			reg := searchBenchRegionNames[r]
			targets = append(targets, &palisadev1.Location{AccountId: acct, Region: reg})
			client := e.ec2.Client(acct, reg)
			for i, g := range e.makeGroups(acct, reg, "fleet", searchBenchGroups, map[string]string{"team": "payments"}) {
				perms := []types.IpPermission{ec2TCP(443, "0.0.0.0/0"), ec2TCP(22, "10.0.0.0/8")}
				n := a*searchBenchRegions*searchBenchGroups + r*searchBenchGroups + i
				if n%(searchBenchAccounts*searchBenchRegions*searchBenchGroups/searchBenchPlanted) == 17 {
					perms = append(perms, ec2TCP(22, "0.0.0.0/0"))
					planted[g] = true
				}
				_, err := client.AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{
					GroupId: aws.String(g), IpPermissions: perms})
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	e.sim.SetThrottle(true, 1)
	e.sim.ResetCounters()
	req := &palisadev1.SearchSecurityGroupsRequest{Targets: targets, RulePredicates: []*palisadev1.RulePredicate{worldSSH}}
	b.ResetTimer()
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		// Let every bucket refill between searches, as between two
		// questions asked of a quiet fleet.
		b.StopTimer()
		time.Sleep(time.Duration(float64(time.Second) * ec2limits.NonMutating.Capacity / ec2limits.NonMutating.Refill))
		e.sim.ResetCounters()
		b.StartTimer()
		start := time.Now()
		res, err := e.search(req)
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		found := map[string]bool{}
		for _, r := range res {
			if r.GetError() != nil {
				b.Fatalf("target %v: %v", r.GetLocation(), r.GetError())
			}
			found[r.GetSecurityGroup().GetGroupId()] = true
		}
		if fmt.Sprint(sortedKeysOf(found)) != fmt.Sprint(sortedKeysOf(planted)) {
			b.Fatalf("found %v, planted %v", sortedKeysOf(found), sortedKeysOf(planted))
		}
	}
	b.StopTimer()
	throttled, calls := throttledCalls(e.sim)
	perTarget := float64(calls) / float64(len(targets))
	sustained := time.Duration(float64(time.Second) * perTarget / ec2limits.NonMutating.Refill)
	per := elapsed / time.Duration(b.N)
	b.ReportMetric(float64(per.Milliseconds()), "ms/search")
	b.ReportMetric(float64(sustained.Milliseconds()), "ms-at-ec2-sustained-rate")
	b.ReportMetric(perTarget, "calls/target")
	b.ReportMetric(float64(throttled), "throttled")
	b.Logf("fleet search: %d targets, %d groups, %d planted found in %v per search; %.1f EC2 calls per target, %v at EC2's sustained Describe rate (%.0f/s per account and region); %d throttled",
		len(targets), len(targets)*searchBenchGroups, len(planted), per, perTarget, sustained, ec2limits.NonMutating.Refill, throttled)
}

func sortedKeysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
