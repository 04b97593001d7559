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
// group with HTTPS and SSH rules; a few groups also allow 22 from
// 0.0.0.0/0, and a few others 22 from ::/0.
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
// Two fleets, each group with SSH from inside (10.0.0.0/8):
//
//   - web-facing=1-in-10: one group in ten takes HTTPS from 0.0.0.0/0,
//     the others from inside, as load balancers' groups among services'.
//     The EC2 filters the search derives from its predicate leave EC2 the
//     web-facing groups and the planted ones to answer; over IPv6 only the
//     planted ones.
//
//   - web-facing=all: every group takes HTTPS from 0.0.0.0/0. No EC2
//     filter can tell the planted groups from the others (each filter may
//     be met by a different rule), so every group is read: the most a
//     search costs.
//
//     go test -run '^$' -bench FleetSearch -benchtime 3x ./e2e/
func BenchmarkFleetSearch(b *testing.B) {
	worldSSH6 := &palisadev1.RulePredicate{Direction: palisadev1.RulePredicate_DIRECTION_INGRESS, Protocol: "tcp", Port: int32p(22), CidrContains: "::/0"}
	for _, fleet := range []struct {
		name     string
		webEvery int // one group in webEvery takes HTTPS from the world
		ipv6     bool
	}{{"web-facing=1-in-10", 10, true}, {"web-facing=all", 1, false}} {
		b.Run(fleet.name, func(b *testing.B) {
			e, targets, planted4, planted6 := searchFleet(b, fleet.webEvery)
			questions := []searchQuestion{{"ipv4", worldSSH, planted4}}
			if fleet.ipv6 {
				questions = append(questions, searchQuestion{"ipv6", worldSSH6, planted6})
			}
			for _, q := range questions {
				b.Run(q.name, func(b *testing.B) {
					benchSearch(b, e, &palisadev1.SearchSecurityGroupsRequest{Targets: targets, RulePredicates: []*palisadev1.RulePredicate{q.pred}}, q.planted)
				})
			}
		})
	}
}

// searchQuestion is one predicate asked of the fleet and the groups
// planted to answer it.
type searchQuestion struct {
	name    string
	pred    *palisadev1.RulePredicate
	planted map[string]bool
}

// searchFleet starts a stack and fills its endpoint with the benchmark's
// fleet, one group in webEvery taking HTTPS from the world, and returns
// the targets and the groups planted with SSH from 0.0.0.0/0 and from ::/0.
func searchFleet(b *testing.B, webEvery int) (*env, []*palisadev1.Location, map[string]bool, map[string]bool) {
	e := newEnv(b, envOptions{apiRateFactor: 1})
	var targets []*palisadev1.Location
	planted4, planted6 := map[string]bool{}, map[string]bool{}
	every := searchBenchAccounts * searchBenchRegions * searchBenchGroups / searchBenchPlanted
	for a := 0; a < searchBenchAccounts; a++ {
		acct := fmt.Sprintf("%012d", 210000000000+a)
		for r := 0; r < searchBenchRegions; r++ {
			reg := searchBenchRegionNames[r]
			targets = append(targets, &palisadev1.Location{AccountId: acct, Region: reg})
			client := e.ec2.Client(acct, reg)
			for i, g := range e.makeGroups(acct, reg, "fleet", searchBenchGroups, map[string]string{"team": "payments"}) {
				n := a*searchBenchRegions*searchBenchGroups + r*searchBenchGroups + i
				https := "10.0.0.0/8"
				if n%webEvery == 0 {
					https = "0.0.0.0/0"
				}
				perms := []types.IpPermission{ec2TCP(443, https), ec2TCP(22, "10.0.0.0/8")}
				switch n % every {
				case 17:
					perms = append(perms, ec2TCP(22, "0.0.0.0/0"))
					planted4[g] = true
				case 411:
					perms = append(perms, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
						Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}})
					planted6[g] = true
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
	return e, targets, planted4, planted6
}

// benchSearch times req b.N times, each from full buckets, and checks it
// finds exactly planted.
func benchSearch(b *testing.B, e *env, req *palisadev1.SearchSecurityGroupsRequest, planted map[string]bool) {
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
	targets := len(req.GetTargets())
	throttled, calls := throttledCalls(e.sim)
	perTarget := float64(calls) / float64(targets)
	sustained := time.Duration(float64(time.Second) * perTarget / ec2limits.NonMutating.Refill)
	per := elapsed / time.Duration(b.N)
	b.ReportMetric(float64(per.Milliseconds()), "ms/search")
	b.ReportMetric(float64(sustained.Milliseconds()), "ms-at-ec2-sustained-rate")
	b.ReportMetric(per.Seconds()/sustained.Seconds(), "x-rate-bound")
	b.ReportMetric(perTarget, "calls/target")
	b.ReportMetric(float64(throttled), "throttled")
	b.Logf("fleet search: %d targets, %d groups, %d planted found in %v per search; %.2f EC2 calls per target, %v at EC2's sustained Describe rate (%.0f/s per account and region), %.1fx; %d throttled",
		targets, targets*searchBenchGroups, len(planted), per, perTarget, sustained, ec2limits.NonMutating.Refill, per.Seconds()/sustained.Seconds(), throttled)
}

func sortedKeysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
