package e2e

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// BenchmarkAccept measures the gRPC front end: requests accepted per
// second and the accept latency (validate, store the command, write the
// record, answer), with JetStream file storage with and without an fsync
// before every ack, beside the raw synchronous JetStream publish of a
// command of the same size on the same server, in the same run.
//
//	go test -run '^$' -bench Accept -benchtime 3s ./e2e/
func BenchmarkAccept(b *testing.B) {
	for _, always := range []bool{true, false} {
		b.Run(fmt.Sprintf("grpc/sync_always=%t", always), func(b *testing.B) {
			e := newEnv(b, envOptions{syncAlways: always})
			req := benchRequest()
			measure(b, func() error {
				_, err := e.sg.AuthorizeSecurityGroupIngress(e.ctx, req)
				return err
			})
		})
		b.Run(fmt.Sprintf("jetstream-publish/sync_always=%t", always), func(b *testing.B) {
			e := newEnv(b, envOptions{syncAlways: always})
			cmd, _ := proto.Marshal(&palisadev1.Command{OperationId: "0123456789abcdef0123456789abcdef", Request: &palisadev1.Command_AuthorizeIngress{
				AuthorizeIngress: &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: "sg-0123456789abcdef0",
					IpPermissions: []*palisadev1.IpPermission{tcp(443, 443, "10.0.0.0/16", "10.1.0.0/16")}}}})
			var n int64
			var mu sync.Mutex
			measure(b, func() error {
				mu.Lock()
				n++
				id := fmt.Sprint(n)
				mu.Unlock()
				_, err := e.js.Publish(e.ctx, bus.CommandSubject(account, region, "sg-0123456789abcdef0"), cmd, jetstream.WithMsgID(id))
				return err
			})
		})
	}
}

// benchRequest is the request the accept benchmarks send: two rules.
func benchRequest() *palisadev1.AuthorizeSecurityGroupIngressRequest {
	return &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: &palisadev1.Location{AccountId: account, Region: region}, GroupId: "sg-0123456789abcdef0",
		IpPermissions: []*palisadev1.IpPermission{tcp(443, 443, "10.0.0.0/16", "10.1.0.0/16")},
	}
}

// BenchmarkAcceptSecured measures what identity and policy cost on the
// accept path: the same accept (no fsync per ack, so their share shows)
// on the insecure loopback default (plaintext, permissive policy), with a
// policy of 100 statements, and over mutual TLS with that policy, in one
// run; every decision is audited in all three. clients=1 sends one
// request at a time, so latency is the request's own; clients=16 keeps
// both cores busy, so it shows what the work costs in throughput.
//
//	go test -run '^$' -bench AcceptSecured -benchtime 3s ./e2e/
func BenchmarkAcceptSecured(b *testing.B) {
	const caller = "spiffe://example.org/bench/deployer"
	for _, clients := range []int{1, 16} {
		load := func(b *testing.B, ctx context.Context, sg palisadev1.SecurityGroupServiceClient) {
			req := benchRequest()
			f := func() error {
				_, err := sg.AuthorizeSecurityGroupIngress(ctx, req)
				return err
			}
			if clients == 1 {
				measureSerial(b, f)
				return
			}
			measure(b, f)
		}
		b.Run(fmt.Sprintf("clients=%d/plaintext/permissive", clients), func(b *testing.B) {
			e := newEnv(b, envOptions{})
			load(b, e.ctx, e.sg)
		})
		b.Run(fmt.Sprintf("clients=%d/plaintext/statements=100", clients), func(b *testing.B) {
			e := newEnv(b, envOptions{policy: benchPolicy(b, 100, "local")})
			load(b, e.ctx, e.sg)
		})
		b.Run(fmt.Sprintf("clients=%d/mtls/statements=100", clients), func(b *testing.B) {
			e := newTLSEnv(b, benchPolicy(b, 100, caller))
			load(b, e.ctx, e.as(e.ca, caller).SecurityGroups)
		})
	}
}

// measureSerial runs f b.N times, one at a time, and reports throughput
// and latency percentiles.
func measureSerial(b *testing.B, f func() error) {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		t0 := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	report(b, lat, time.Since(start))
}

// measure runs f from 16 goroutines and reports throughput and latency
// percentiles.
func measure(b *testing.B, f func() error) {
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.SetParallelism(8) // ×GOMAXPROCS client goroutines
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 256)
		for pb.Next() {
			t0 := time.Now()
			if err := f(); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	report(b, lat, time.Since(start))
}

// report states the throughput and latency percentiles of a run.
func report(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
}
