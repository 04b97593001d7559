package ec2sim_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

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
