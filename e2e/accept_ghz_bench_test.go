package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/palisadehq/palisade/internal/natsembed/natstest"
	"google.golang.org/protobuf/encoding/protojson"
)

// BenchmarkAcceptGhz is BenchmarkAcceptVsRaw with the accept load from
// ghz (github.com/bojand/ghz), a process of its own calling the API's
// gRPC port through server reflection: 16 concurrent calls over 16
// connections, every call with a request_id of its own. The raw
// synchronous publish with message ids is the same Go loop as there, on
// the same server in the same run; the two alternate acceptRounds times,
// then ghz runs paced at half the highest accept rate for the latency.
// It is skipped when ghz is not installed (make bench installs it into
// the tools bin).
//
//	make bench-frontend
func BenchmarkAcceptGhz(b *testing.B) {
	ghz := ghzBinary()
	if ghz == "" {
		b.Skip("ghz not installed: `make bench-frontend` installs it into .bin")
	}
	for _, always := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync_always=%t", always), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchAcceptGhz(b, ghz, always)
			}
		})
	}
}

func benchAcceptGhz(b *testing.B, ghz string, always bool) {
	b.StopTimer()
	e := newEnv(b, envOptions{syncAlways: always})
	raw := rawPublish(e)
	req := benchRequest()
	req.RequestId = "REQUEST-ID"
	data, err := protojson.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	// ghz fills in a fresh UUID per call.
	call := strings.Replace(string(data), "REQUEST-ID", "{{.UUID}}", 1)
	b.StartTimer()
	var rawN float64
	var rawTime time.Duration
	var rates, p50s, p99s []float64
	for range acceptRounds {
		n, d, _ := drive(b, e.ctx, raw, 0)
		rawN, rawTime = rawN+n, rawTime+d
		r := runGhz(b, ghz, e.stack.Addr, call, 0)
		rates, p50s, p99s = append(rates, r.Rps), append(p50s, r.percentile(50)), append(p99s, r.percentile(99))
	}
	rawRate, acceptRate := rawN/rawTime.Seconds(), median(rates)
	half := runGhz(b, ghz, e.stack.Addr, call, acceptRate/2)
	b.StopTimer()
	b.ReportMetric(rawRate, "raw-msg/s")
	b.ReportMetric(acceptRate, "accept-req/s")
	b.ReportMetric(acceptRate/rawRate, "ratio")
	b.ReportMetric(median(p50s), "p50-ms")
	b.ReportMetric(median(p99s), "p99-ms")
	b.ReportMetric(half.percentile(99), "p99-at-half-ms")
	b.ReportMetric(0, "ns/op")
}

// ghzReport is what of ghz's JSON report the benchmark reads.
type ghzReport struct {
	Count     uint64         `json:"count"`
	Rps       float64        `json:"rps"`
	Codes     map[string]int `json:"statusCodeDistribution"`
	Errors    map[string]int `json:"errorDistribution"`
	Latencies []ghzLatency   `json:"latencyDistribution"`
}

type ghzLatency struct {
	Percentage int           `json:"percentage"`
	Latency    time.Duration `json:"latency"`
}

// percentile is the latency at percentage p, in milliseconds.
func (r ghzReport) percentile(p int) float64 {
	for _, l := range r.Latencies {
		if l.Percentage == p {
			return ms(l.Latency)
		}
	}
	return 0
}

// runGhz calls AuthorizeSecurityGroupIngress with data for acceptPhase
// (twice that when paced at rate per second) and returns ghz's report;
// any call that did not answer OK fails the benchmark.
func runGhz(b *testing.B, ghz, addr, data string, rate float64) ghzReport {
	b.Helper()
	phase := acceptPhase
	args := []string{"--insecure", "--call", "palisade.v1.SecurityGroupService.AuthorizeSecurityGroupIngress",
		"--data", data, "--concurrency", fmt.Sprint(acceptClients), "--connections", fmt.Sprint(acceptClients),
		"--format", "json", "--duration-stop", "wait"}
	if rate > 0 {
		phase *= 2
		args = append(args, "--rps", fmt.Sprint(int(rate)))
	}
	args = append(args, "--duration", phase.String(), addr)
	var out, errOut bytes.Buffer
	cmd := exec.Command(ghz, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		b.Fatalf("ghz: %v: %s", err, errOut.String())
	}
	var r ghzReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		b.Fatalf("ghz report: %v: %.300s", err, out.String())
	}
	if r.Count == 0 || len(r.Codes) != 1 || r.Codes["OK"] == 0 {
		b.Fatalf("ghz: calls not all OK: codes %v, errors %v", r.Codes, r.Errors)
	}
	return r
}

// ghzBinary is ghz from $PALISADE_GHZ, else from the tools bin or PATH
// (natstest.ToolBinary); "" when there is none.
func ghzBinary() string {
	if p := os.Getenv("PALISADE_GHZ"); p != "" {
		return p
	}
	return natstest.ToolBinary("..", "ghz")
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
