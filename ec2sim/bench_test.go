package ec2sim_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

// BenchmarkAuthorizeIngress measures AuthorizeSecurityGroupIngress calls per
// second through aws-sdk-go-v2 and a loopback HTTP server, throttling off.
// Each call adds one rule; a fresh group is used every 50 rules so the
// 60-rule quota is never the limit.
//
//	go test -run '^$' -bench BenchmarkAuthorizeIngress -benchtime 3s ./ec2sim/
func BenchmarkAuthorizeIngress(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		e := newBenchEnv(b)
		var group string
		b.ResetTimer()
		for i := range b.N {
			if i%50 == 0 {
				b.StopTimer()
				group = e.createGroup(fmt.Sprintf("bench-%d", i), "")
				b.StartTimer()
			}
			if _, err := e.authorize(group, tcp(int32(i%50), int32(i%50), "10.0.0.0/8")); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
	b.Run("parallel", func(b *testing.B) {
		e := newBenchEnv(b)
		var worker atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			w := worker.Add(1)
			var group string
			for i := 0; pb.Next(); i++ {
				if i%50 == 0 {
					out, err := e.ec2.CreateSecurityGroup(ctx(e.t), &ec2.CreateSecurityGroupInput{
						GroupName: aws.String(fmt.Sprintf("bench-%d-%d", w, i)), Description: aws.String("bench")})
					if err != nil {
						b.Error(err)
						return
					}
					group = aws.ToString(out.GroupId)
				}
				if _, err := e.authorize(group, tcp(int32(i%50), int32(i%50), "10.0.0.0/8")); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
}

func newBenchEnv(b *testing.B) *env { return newEnv(b, ec2sim.Options{}) }

// BenchmarkStateFileChanges measures changes per second with the state file
// on, in a world of 10 and of 10,000 groups: a change costs the size of
// the change (one journal record), so the two figures should stay within
// 2x of each other. Each change adds or removes one rule of one of ten
// groups, through aws-sdk-go-v2 and a loopback HTTP server; compactions
// (a full snapshot once the journal outgrows twice the last one) fall
// inside the measurement. "memory" is the same with no state file.
//
//	go test -run '^$' -bench BenchmarkStateFileChanges -benchtime 3s -count 3 ./ec2sim/
func BenchmarkStateFileChanges(b *testing.B) {
	parent := b // owns the endpoints, which outlive each run of a case
	for _, tc := range []struct {
		name   string
		groups int
		file   bool
	}{{"groups=10", 10, true}, {"groups=10000", 10000, true}, {"groups=10000/memory", 10000, false}} {
		var e *env
		var targets []string
		var done int // changes made so far, across runs of the case
		b.Run(tc.name, func(b *testing.B) {
			if e == nil {
				// Seeded once per case: the framework calls this function
				// again for each b.N.
				opts := ec2sim.Options{}
				if tc.file {
					opts.StateFile = filepath.Join(parent.TempDir(), "ec2.json")
				}
				e = newEnv(parent, opts)
				ec2sim.SetLimitsForTest(e.sim, 60, tc.groups+10, 50, 5, false)
				for i := range tc.groups {
					id := e.createGroup(fmt.Sprintf("seed-%d", i), "")
					if i < 10 {
						targets = append(targets, id)
					}
				}
			}
			b.ResetTimer()
			for range b.N {
				i := done
				done++
				g := targets[i%len(targets)]
				// Each group alternates between having the rule and not.
				perm := tcp(443, 443, "10.20.0.0/16")
				var err error
				if (i/len(targets))%2 == 0 {
					_, err = e.authorize(g, perm)
				} else {
					_, err = e.ec2.RevokeSecurityGroupIngress(ctx(e.t), &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(g), IpPermissions: []types.IpPermission{perm}})
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "changes/s")
		})
	}
}
