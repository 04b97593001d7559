package e2e

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// Front-end benchmark shape: 16 clients; raw and accept phases alternate
// acceptRounds times, each a fixed time.
const (
	acceptClients = 16
	acceptPhase   = time.Second
	acceptRounds  = 3
)

// BenchmarkAcceptVsRaw measures the gRPC accept path the way callers who
// retry use it (every request with its own request_id) against a raw
// synchronous JetStream publish with message ids of a command of the same
// size, on the same server, with and without an fsync before every ack:
// the highest rate of each with 16 clients, their ratio, and the accept
// latency at half the highest accept rate. The load is a Go generator
// calling the API over its real gRPC connection.
//
//	go test -run '^$' -bench AcceptVsRaw -benchtime 1x ./e2e/
func BenchmarkAcceptVsRaw(b *testing.B) {
	for _, always := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync_always=%t", always), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchAcceptVsRaw(b, always)
			}
		})
	}
}

func benchAcceptVsRaw(b *testing.B, always bool) {
	b.StopTimer()
	e := newEnv(b, envOptions{syncAlways: always})
	raw := rawPublish(e)
	var seq atomic.Uint64
	accept := func(ctx context.Context) error {
		req := benchRequest()
		req.RequestId = fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(time.Now().UnixNano()), seq.Add(1))
		_, err := e.sg.AuthorizeSecurityGroupIngress(ctx, req)
		return err
	}
	b.StartTimer()
	// The two alternate, so a neighbour's burst on this shared machine
	// weighs on both alike.
	var rawN, acceptN float64
	var rawTime, acceptTime time.Duration
	var lat []time.Duration
	for range acceptRounds {
		n, d, _ := drive(b, e.ctx, raw, 0)
		rawN, rawTime = rawN+n, rawTime+d
		n, d, l := drive(b, e.ctx, accept, 0)
		acceptN, acceptTime = acceptN+n, acceptTime+d
		lat = append(lat, l...)
	}
	rawRate, acceptRate := rawN/rawTime.Seconds(), acceptN/acceptTime.Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var halfLat []time.Duration
	for range acceptRounds {
		_, _, l := drive(b, e.ctx, accept, acceptRate/2)
		halfLat = append(halfLat, l...)
	}
	sort.Slice(halfLat, func(i, j int) bool { return halfLat[i] < halfLat[j] })
	b.StopTimer()
	b.ReportMetric(rawRate, "raw-msg/s")
	b.ReportMetric(acceptRate, "accept-req/s")
	b.ReportMetric(acceptRate/rawRate, "ratio")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(halfLat[len(halfLat)*99/100]), "p99-at-half-ms")
	b.ReportMetric(0, "ns/op")
}

// rawPublish is the baseline an accept is held against: a synchronous
// JetStream publish, with a message id of its own, of a command of the
// size the accept stores, to the command stream.
func rawPublish(e *env) func(context.Context) error {
	body, _ := proto.Marshal(&palisadev1.Command{OperationId: "0123456789abcdef0123456789abcdef", Request: &palisadev1.Command_AuthorizeIngress{
		AuthorizeIngress: benchRequest()}})
	var seq atomic.Uint64
	return func(ctx context.Context) error {
		_, err := e.js.Publish(ctx, bus.CommandSubject(account, region, "sg-0123456789abcdef0"), body,
			jetstream.WithMsgID(fmt.Sprintf("raw-%d", seq.Add(1))))
		return err
	}
}

// drive calls f from acceptClients goroutines for acceptPhase, as fast as
// it answers (rate 0) or paced together at rate per second, and returns
// the calls answered, the time taken and the sorted latencies.
func drive(b *testing.B, ctx context.Context, f func(context.Context) error, rate float64) (float64, time.Duration, []time.Duration) {
	var (
		mu  sync.Mutex
		lat []time.Duration
		wg  sync.WaitGroup
	)
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer t.Stop()
		tick = t.C
	}
	start := time.Now()
	end := start.Add(acceptPhase)
	for range acceptClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			for time.Now().Before(end) {
				if tick != nil {
					<-tick
				}
				t0 := time.Now()
				if err := f(ctx); err != nil {
					b.Error(err)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(lat) == 0 {
		b.Fatal("no call answered")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(len(lat)), time.Since(start), lat
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
