package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

// The old ways, side by side with the rollout: the same change (the 10
// rules of benchRuleSet) to the same 1,000 groups in 2 regions, against
// the same throttled EC2 (EC2's bucket sizes, refill rates × benchSpeed),
// each contestant on an endpoint of its own, so each starts with full
// buckets.
const (
	// cliGroups is the AWS CLI's subset: about a second of CPU per call
	// makes 10,000 calls a matter of hours, so 20 groups are measured and
	// the figures scaled to 1,000. At one call a second the CLI never
	// meets the rate limit, so the scaling is linear.
	cliGroups = 20
	// sdkGoroutines is the parallel variant of the SDK loop.
	sdkGoroutines = 16
)

// benchResult is what one contestant achieved.
type benchResult struct {
	name   string
	groups int
	// rules is the rules the change asks for: groups × benchRules.
	rules   int
	elapsed time.Duration
	// calls and throttled: every EC2 call the endpoint answered, and those
	// it refused for the rate limit (RequestLimitExceeded).
	calls, throttled int64
	// failed counts the rules the contestant gave up on.
	failed int
	// inPlace counts the change's rules EC2 holds at the end.
	inPlace int
}

// BenchmarkRolloutCompare applies the rollout benchmark's change the ways
// Palisade replaces — the seed lab's AWS CLI command per group and rule, a
// plain aws-sdk-go-v2 loop with the SDK's default retryer — and through a
// Palisade rollout, and prints one table of the figures.
//
//	go test -run '^$' -bench RolloutCompare -benchtime 1x -timeout 60m ./e2e/
func BenchmarkRolloutCompare(b *testing.B) {
	var results []benchResult
	run := func(name string, f func(b *testing.B) []benchResult) {
		b.Run(name, func(b *testing.B) {
			var last []benchResult
			for i := 0; i < b.N; i++ {
				last = f(b)
			}
			r := last[0]
			b.ReportMetric(r.elapsed.Seconds(), "s")
			b.ReportMetric(float64(r.calls), "ec2-calls")
			b.ReportMetric(float64(r.throttled), "throttled")
			b.ReportMetric(float64(r.failed), "failed-rules")
			b.ReportMetric(float64(r.inPlace), "rules-in-place")
			b.ReportMetric(0, "ns/op")
			results = append(results, last...)
		})
	}
	run("aws-cli", func(b *testing.B) []benchResult {
		r := runCLI(b)
		return []benchResult{r, r.scaled(2 * benchGroupsPerReg)}
	})
	run("sdk-loop", func(b *testing.B) []benchResult { return []benchResult{runSDKLoop(b, 1)} })
	run(fmt.Sprintf("sdk-loop-goroutines=%d", sdkGoroutines), func(b *testing.B) []benchResult {
		return []benchResult{runSDKLoop(b, sdkGoroutines)}
	})
	run("palisade", func(b *testing.B) []benchResult {
		r := runPalisadeRollout(b, 1)
		r.name = "Palisade rollout, 1 worker process"
		return []benchResult{r}
	})
	// On stdout: a parent benchmark's log is not printed.
	if len(results) > 0 {
		fmt.Printf("rollout comparison (EC2 rates × %d, change: %d rules per group):\n%s", benchSpeed, benchRules, compareTable(results))
	}
}

// runCLI runs the seed lab's command once per group and rule, one after
// the other as a person or a shell loop does, on cliGroups groups.
func runCLI(b *testing.B) benchResult {
	bin, err := exec.LookPath("aws")
	if err != nil {
		b.Skip("aws CLI not found on PATH; install awscli to compare with the seed lab's way")
	}
	b.StopTimer()
	sim, url, groups := simEstate(b, cliGroups/len(benchRegions))
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	// The CLI's own defaults otherwise (retry mode legacy, 5 attempts).
	env = append(env, "AWS_ACCESS_KEY_ID="+account, "AWS_SECRET_ACCESS_KEY=bench", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true")
	r := benchResult{name: "aws CLI, measured", groups: cliGroups, rules: cliGroups * benchRules}
	b.StartTimer()
	start := time.Now()
	for _, reg := range benchRegions {
		for _, g := range groups[reg] {
			for _, cidr := range benchCIDRs() {
				cmd := exec.Command(bin, "ec2", "authorize-security-group-ingress", "--group-id", g,
					"--ip-permissions", "IpProtocol=tcp,FromPort=9100,ToPort=9100,IpRanges=[{CidrIp="+cidr+"}]",
					"--region", reg, "--endpoint-url", url, "--output", "json")
				cmd.Env = env
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					var exit *exec.ExitError
					if !errors.As(err, &exit) {
						b.Fatalf("aws: %v", err)
					}
					r.failed++
					b.Logf("aws ec2 authorize-security-group-ingress %s: %v: %s", g, err, strings.TrimSpace(stderr.String()))
				}
			}
		}
	}
	r.elapsed = time.Since(start)
	b.StopTimer()
	r.finish(b, sim, url, groups)
	return r
}

// runSDKLoop calls AuthorizeSecurityGroupIngress once per group and rule
// with the SDK's default retryer, as a script does: region by region,
// group by group, on one goroutine or on n taking the next call.
func runSDKLoop(b *testing.B, n int) benchResult {
	b.StopTimer()
	sim, url, groups := simEstate(b, benchGroupsPerReg)
	ctx := context.Background()
	clients := map[string]*ec2.Client{}
	for _, reg := range benchRegions {
		clients[reg] = scriptClient(b, url, reg)
	}
	type call struct{ region, group, cidr string }
	calls := make(chan call)
	var failed atomic.Int64
	var wg sync.WaitGroup
	r := benchResult{name: "SDK loop, sequential", groups: 2 * benchGroupsPerReg, rules: 2 * benchGroupsPerReg * benchRules}
	if n > 1 {
		r.name = fmt.Sprintf("SDK loop, %d goroutines", n)
	}
	b.StartTimer()
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				_, err := clients[c.region].AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
					GroupId: aws.String(c.group),
					IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(9100), ToPort: aws.Int32(9100),
						IpRanges: []types.IpRange{{CidrIp: aws.String(c.cidr)}}}},
				})
				if err != nil {
					// The retryer gave up (3 attempts, or its retry quota ran
					// out): the script reports it and moves on.
					failed.Add(1)
				}
			}
		}()
	}
	for _, reg := range benchRegions {
		for _, g := range groups[reg] {
			for _, cidr := range benchCIDRs() {
				calls <- call{reg, g, cidr}
			}
		}
	}
	close(calls)
	wg.Wait()
	r.elapsed = time.Since(start)
	b.StopTimer()
	r.failed = int(failed.Load())
	r.finish(b, sim, url, groups)
	return r
}

// scriptClient is an EC2 client as a script makes one: the default
// configuration, whose retryer is the SDK's standard one with 3 attempts
// (pinned here so that AWS_* in the environment cannot change it).
func scriptClient(b *testing.B, url, reg string) *ec2.Client {
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(reg),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(account, "bench", "")),
		config.WithRetryMode(aws.RetryModeStandard), config.WithRetryMaxAttempts(3))
	if err != nil {
		b.Fatal(err)
	}
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(url) })
}

// simEstate starts an EC2 endpoint of the contestant's own with
// groupsPerRegion groups tagged team=payments in each region, then turns
// on throttling at the benchmark's rates.
func simEstate(b *testing.B, groupsPerRegion int) (*ec2sim.Sim, string, map[string][]string) {
	sim, err := ec2sim.New(ec2sim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(sim)
	b.Cleanup(hs.Close)
	groups := map[string][]string{}
	for _, reg := range benchRegions {
		client := scriptClient(b, hs.URL, reg)
		for i := range groupsPerRegion {
			out, err := client.CreateSecurityGroup(context.Background(), &ec2.CreateSecurityGroupInput{
				GroupName: aws.String(fmt.Sprintf("bench-%d", i)), Description: aws.String("rollout target"),
				TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup,
					Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}}},
			})
			if err != nil {
				b.Fatalf("create group: %v", err)
			}
			groups[reg] = append(groups[reg], aws.ToString(out.GroupId))
		}
	}
	sim.ResetCounters()
	sim.SetThrottle(true, benchSpeed)
	return sim, hs.URL, groups
}

// finish takes the endpoint's counts, then (throttling off, outside the
// counts) the rules in place.
func (r *benchResult) finish(b *testing.B, sim *ec2sim.Sim, url string, groups map[string][]string) {
	r.throttled, r.calls = throttledCalls(sim)
	sim.SetThrottle(false, 1)
	r.inPlace = benchRulesInPlace(context.Background(), b, func(_, reg string) *ec2.Client { return scriptClient(b, url, reg) }, groups)
}

// scaled is r extrapolated linearly to groups groups, and says so.
func (r benchResult) scaled(groups int) benchResult {
	f := groups / r.groups
	return benchResult{name: fmt.Sprintf("aws CLI, EXTRAPOLATED ×%d from %d groups", f, r.groups), groups: groups, rules: r.rules * f,
		elapsed: r.elapsed * time.Duration(f), calls: r.calls * int64(f), throttled: r.throttled * int64(f), failed: r.failed * f, inPlace: r.inPlace * f}
}

// benchCIDRs are the sources of benchRuleSet, one rule each.
func benchCIDRs() []string {
	var out []string
	for _, p := range benchRuleSet() {
		for _, rg := range p.GetIpRanges() {
			out = append(out, rg.GetCidrIp())
		}
	}
	return out
}

// benchRulesInPlace counts the change's rules EC2 holds on the groups.
func benchRulesInPlace(ctx context.Context, b *testing.B, client func(account, region string) *ec2.Client, groups map[string][]string) int {
	want := map[string]bool{}
	for _, c := range benchCIDRs() {
		want[c] = true
	}
	n := 0
	for reg, ids := range groups {
		in := &ec2.DescribeSecurityGroupsInput{GroupIds: ids}
		if len(ids) > 200 {
			// Beyond a filter's values: read the tagged estate.
			in = &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(1000),
				Filters: []types.Filter{{Name: aws.String("tag:team"), Values: []string{"payments"}}}}
		}
		for p := ec2.NewDescribeSecurityGroupsPaginator(client(account, reg), in); p.HasMorePages(); {
			out, err := p.NextPage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, g := range out.SecurityGroups {
				for _, perm := range g.IpPermissions {
					if aws.ToString(perm.IpProtocol) != "tcp" || aws.ToInt32(perm.FromPort) != 9100 || aws.ToInt32(perm.ToPort) != 9100 {
						continue
					}
					for _, rg := range perm.IpRanges {
						if want[aws.ToString(rg.CidrIp)] {
							n++
						}
					}
				}
			}
		}
	}
	return n
}

// compareTable lays the results out, one line each.
func compareTable(results []benchResult) string {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "contestant\tgroups\twall time\tEC2 calls\tthrottled\tfailed for good\trules in place\t")
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%d\t%.1f s\t%d\t%d (%.1f %%)\t%d\t%d of %d\t\n", r.name, r.groups, r.elapsed.Seconds(),
			r.calls, r.throttled, 100*float64(r.throttled)/float64(max(r.calls, 1)), r.failed, r.inPlace, r.rules)
	}
	_ = w.Flush()
	return buf.String()
}
