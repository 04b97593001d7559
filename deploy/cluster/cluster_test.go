// Package cluster_test starts Palisade as the deployment runs it, on this
// machine: three nats-server processes from deploy/nats/nats-server.conf
// (TLS on client and route ports, a key per role), palisade declare as
// the admin role, two palisade api and three palisade worker processes
// configured as deploy/kubernetes configures them (testdata/launch.json),
// and the local EC2 endpoint; then the seed lab and a rollout through
// palisadectl over mutual TLS, with a NATS node killed and restarted
// mid-rollout, and the end state checked group by group.
//
// make cluster runs it in full (-cluster.full); make test runs a shorter
// rollout.
package cluster_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
)

var full = flag.Bool("cluster.full", false, "the full run (make cluster): a larger rollout")

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ten processes: not under -short")
	}
	groups := 6
	if *full {
		groups = 24
	}
	s := newStack(t) // builds the binaries: the clock starts after
	began := time.Now()
	say := func(format string, args ...any) {
		t.Logf("cluster %6.1fs  %s", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
	}
	ctx := context.Background()
	palisade := filepath.Join(s.bin, "palisade")

	for i := range 3 {
		s.startNode(i)
	}
	// Declare as soon as a node takes connections, before the cluster has
	// elected its leaders, as a Job started with the StatefulSet does.
	s.awaitNATS(ctx, 30*time.Second, false)
	say("started 3 nats-server processes from %s, TLS on client and route ports: %s", shippedNATSConfig, s.natsURL())
	env, args := s.partEnv("declare", "declare", bus.RoleAdmin, nil)
	// NATS takes only clients that trust its certificate and show one of
	// their own.
	other := tlstest.NewCA(t, "another-ca")
	for _, tc := range []struct {
		what string
		env  []string
		want string
	}{
		{"a CA that did not sign the servers' certificate", []string{"PALISADE_NATS_TLS_CA=" + other.File}, "certificate signed by unknown authority"},
		{"no client certificate", []string{"PALISADE_NATS_TLS_CERT=", "PALISADE_NATS_TLS_KEY="}, "connect to NATS"},
	} {
		out, err := s.run(ctx, 30*time.Second, append(append([]string{}, env...), tc.env...), palisade, args...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Fatalf("palisade declare with %s: %v, want a refusal saying %q:\n%s", tc.what, err, tc.want, out)
		}
	}
	if !s.nodeLogsSay("client didn't provide a certificate") {
		t.Fatal("no node logged the client without a certificate")
	}
	say("palisade declare refused with a CA that did not sign the servers' certificate, and without a client certificate")
	start := time.Now()
	if out, err := s.run(ctx, 90*time.Second, env, palisade, args...); err != nil {
		t.Fatalf("palisade %v: %v\n%s", args, err, out)
	}
	say("palisade declare (role admin): streams, consumers and buckets with 3 replicas in %v", time.Since(start).Round(time.Millisecond))

	ec2Addr := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	// Some latency per EC2 call keeps the rollout going while a node dies.
	s.start("ec2sim", nil, palisade, "ec2sim", "--ec2-listen", ec2Addr, "--ec2-latency", "400ms", "--log-level", "warn")
	ec2URL := "http://" + ec2Addr
	var apiAddrs, metricsAddrs []string
	for i := range 2 {
		ports := freePorts(t, 3)
		grpcAddr, healthAddr := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])
		env, args := s.partEnv("api", fmt.Sprintf("api-%d", i), bus.RoleAPI, map[string]string{"PALISADE_EC2_ENDPOINT": ec2URL})
		args = localAddr(args, "--grpc-listen", grpcAddr)
		args = localAddr(args, "--health-listen", healthAddr)
		metricsAddrs = append(metricsAddrs, fmt.Sprintf("127.0.0.1:%d", ports[2]))
		args = localAddr(args, "--metrics-listen", metricsAddrs[len(metricsAddrs)-1])
		s.start(fmt.Sprintf("api-%d", i), env, palisade, args...)
		apiAddrs = append(apiAddrs, grpcAddr)
		s.awaitHealth(ctx, healthAddr, 30*time.Second)
	}
	say("started 2 palisade api processes (role api, mutual TLS, --declare=false): %s; their health services report SERVING", strings.Join(apiAddrs, ", "))
	for i := range 3 {
		env, args := s.partEnv("worker", fmt.Sprintf("worker-%d", i), bus.RoleWorker, map[string]string{"PALISADE_EC2_ENDPOINT": ec2URL})
		metricsAddrs = append(metricsAddrs, fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0]))
		args = localAddr(args, "--metrics-listen", metricsAddrs[len(metricsAddrs)-1])
		s.start(fmt.Sprintf("worker-%d", i), env, palisade, args...)
	}
	say("started 3 palisade worker processes (role worker, --declare=false) against the local EC2 endpoint %s", ec2URL)

	ctl := s.ctl(apiAddrs)
	// The seed lab, within the shipped guardrails (SSH from inside 10/8 only).
	ftp := ctl.group(t, 0, "create-security-group", "--group-name", "ftp-sg", "--description", "Rules for FTP traffic", "--wait")
	_ = ctl.ok(t, 1, "authorize-security-group-ingress", "--group-id", ftp, "--wait",
		"--ip-permissions", "IpProtocol=tcp,FromPort=20,ToPort=21,IpRanges=[{CidrIp=0.0.0.0/0},{CidrIp=10.0.0.0/16}]")
	ssh := ctl.group(t, 0, "create-security-group", "--group-name", "ssh-http-sg", "--description", "SG for SSH and HTTP traffic", "--wait",
		"--ip-permissions", "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=10.0.0.0/8}]", "IpProtocol=tcp,FromPort=80,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0}]")
	if out, code := ctl.exec(1, "authorize-security-group-ingress", "--group-id", ssh,
		"--ip-permissions", "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0}]"); code == 0 || !strings.Contains(out, "no-admin-ports-from-outside-10-8") {
		t.Fatalf("SSH from anywhere: exit %d, want a refusal naming the guardrail:\n%s", code, out)
	}
	say("seed lab: created ftp-sg %s and ssh-http-sg %s with their rules; SSH from 0.0.0.0/0 refused by the shipped guardrail", ftp, ssh)

	var web []string
	for i := range groups {
		web = append(web, ctl.group(t, i%2, "create-security-group", "--group-name", fmt.Sprintf("web-%02d", i),
			"--description", "web tier", "--tags", "Key=tier,Value=web", "--wait"))
	}
	say("created %d groups tagged tier=web", groups)

	out := ctl.ok(t, 0, "rollout", "start", "--tags", "Key=tier,Value=web", "--max-in-flight", "1",
		"--authorize-ingress", "IpProtocol=tcp,FromPort=443,ToPort=443,IpRanges=[{CidrIp=10.0.0.0/8,Description=HTTPS from the VPN}]")
	rollout := regexp.MustCompile(`"rollout":\s*"(rollouts/[^"]+)"`).FindStringSubmatch(out)
	if rollout == nil {
		t.Fatalf("rollout start named no rollout:\n%s", out)
	}
	say("rollout %s started: tcp/443 from 10.0.0.0/8 on every tier=web group, one at a time", rollout[1])

	time.Sleep(1500 * time.Millisecond)
	if got, _ := ctl.exec(0, "rollout", "get", rollout[1], "--output", "json", "--timeout", "10s"); !strings.Contains(got, "ROLLOUT_STATE_ROLLING") {
		t.Fatalf("the rollout is not rolling when the node is to be killed:\n%s", got)
	}
	// The node that leads the command stream: the kill that costs most.
	victim := s.streamLeader(ctx, bus.CommandStream)
	s.killNode(victim)
	say("killed nats-%d, the leader of the command stream %s (SIGKILL), mid-rollout", victim, bus.CommandStream)
	time.Sleep(3 * time.Second)
	s.startNode(victim)
	say("restarted nats-%d on its store directory", victim)

	start = time.Now()
	// Polled with rollout get rather than followed with rollout watch: a
	// watch opened right after a node's restart has been seen to miss the
	// end of a rollout that get reports ended.
	state := ""
	for attempt, deadline := 0, time.Now().Add(2*time.Minute); time.Now().Before(deadline); attempt++ {
		time.Sleep(500 * time.Millisecond)
		out, code := ctl.exec(attempt%2, "rollout", "get", rollout[1], "--output", "json", "--timeout", "10s")
		m := regexp.MustCompile(`"state":\s*"(ROLLOUT_STATE_[A-Z_]+)"`).FindStringSubmatch(out)
		if code != 0 || m == nil {
			continue
		}
		if state = m[1]; state == "ROLLOUT_STATE_SUCCEEDED" || state == "ROLLOUT_STATE_FAILED" || state == "ROLLOUT_STATE_CANCELLED" {
			break
		}
	}
	if state != "ROLLOUT_STATE_SUCCEEDED" {
		t.Fatalf("rollout %s: state %q, want ROLLOUT_STATE_SUCCEEDED", rollout[1], state)
	}
	say("rollout %s SUCCEEDED (%v after the restart)", rollout[1], time.Since(start).Round(time.Millisecond))

	// Every group holds the rule exactly once, and nothing else changed.
	for _, g := range web {
		rules := ctl.ingress(t, g)
		if len(rules) != 1 || rules[0] != "tcp 443-443 10.0.0.0/8" {
			t.Errorf("group %s ingress %v, want exactly [tcp 443-443 10.0.0.0/8]", g, rules)
		}
	}
	if rules := ctl.ingress(t, ssh); len(rules) != 2 {
		t.Errorf("ssh-http-sg %s ingress %v, want its 2 rules untouched", ssh, rules)
	}
	say("checked: each of the %d groups has the rule once; the seed lab's groups are untouched", groups)
	say("palisadectl calls answered UNAVAILABLE and retried with the same request id: %d", *ctl.retries)

	// The metrics port the manifests open: the APIs counted what they
	// accepted, the workers what they ended.
	accepted, ended := 0.0, 0.0
	for _, addr := range metricsAddrs {
		accepted += scrapeSum(t, addr, "palisade_operations_accepted_total")
		ended += scrapeSum(t, addr, "palisade_operations_ended_total")
	}
	if accepted < float64(groups) || ended < float64(groups) {
		t.Errorf("metrics: %v operations accepted and %v ended over all parts, want at least %d each", accepted, ended, groups)
	}
	say("metrics (--metrics-listen, as the manifests set it): %v operations accepted, %v ended over all parts", accepted, ended)

	for _, p := range s.parts() {
		_ = p.cmd.Process.Signal(terminate)
	}
	for _, p := range s.parts() {
		select {
		case <-p.done:
			if p.err != nil {
				t.Errorf("%s after SIGTERM: %v", p.name, p.err)
			}
		case <-time.After(40 * time.Second):
			t.Errorf("%s still running 40 s after SIGTERM", p.name)
		}
	}
	say("stopped the api and worker processes with SIGTERM: each exited 0 within its grace period")
}

// localAddr replaces the address of flag (e.g. --grpc-listen=:8443 in
// the manifests) with addr on this machine.
func localAddr(args []string, flag, addr string) []string {
	out := make([]string, 0, len(args))
	found := false
	for _, a := range args {
		if strings.HasPrefix(a, flag+"=") {
			a, found = flag+"="+addr, true
		}
		out = append(out, a)
	}
	if !found {
		panic("the manifests give no " + flag)
	}
	return out
}

// ctlRunner runs palisadectl against one of the APIs over mutual TLS.
type ctlRunner struct {
	bin     string
	apis    []string
	tls     []string
	retries *int // UNAVAILABLE answers retried
}

func (s *stack) ctl(apis []string) ctlRunner {
	return ctlRunner{bin: filepath.Join(s.bin, "palisadectl"), apis: apis, retries: new(int),
		tls: []string{"--tls-cert", s.ctlCert.CertFile, "--tls-key", s.ctlCert.KeyFile, "--tls-ca", s.ca.File}}
}

// exec runs palisadectl through API i and returns its output and exit code.
func (c ctlRunner) exec(i int, args ...string) (string, int) {
	full := append(append([]string{}, args...), append([]string{"--server", c.apis[i]}, c.tls...)...)
	if !slices.Contains(args, "--timeout") {
		full = append(full, "--timeout", "2m")
	}
	out, err := exec.Command(c.bin, full...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errorsAs(err, &exit):
		return string(out), exit.ExitCode()
	default:
		return string(out) + err.Error(), -1
	}
}

// ok runs a mutating command under a request id of its own and, as the
// API asks on UNAVAILABLE (exit 4), retries it with the same id: one
// request, one operation, however many tries.
func (c ctlRunner) ok(t *testing.T, i int, args ...string) string {
	t.Helper()
	args = append(args, "--output", "json", "--request-id", newRequestID(t))
	for attempt := 0; ; attempt++ {
		out, code := c.exec(i, args...)
		if code == 0 {
			return out
		}
		if code != 4 || attempt == 10 {
			t.Fatalf("palisadectl %v: exit %d\n%s", args, code, out)
		}
		*c.retries++
		time.Sleep(500 * time.Millisecond)
	}
}

// newRequestID is a random UUID (version 4), as AIP-155 asks.
func newRequestID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// group runs a create-security-group and returns the new group's id.
func (c ctlRunner) group(t *testing.T, i int, args ...string) string {
	t.Helper()
	out := c.ok(t, i, args...)
	m := regexp.MustCompile(`"groupId":\s*"(sg-[0-9a-f]+)"`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("palisadectl %v named no group:\n%s", args, out)
	}
	return m[1]
}

// ingress lists group's inbound rules as EC2 holds them, one
// "proto from-to cidr" per CIDR.
func (c ctlRunner) ingress(t *testing.T, group string) []string {
	t.Helper()
	// A read is audited: right after a node's restart the audit stream
	// may answer UNAVAILABLE (exit 4), which asks for a retry.
	var out string
	for attempt := 0; ; attempt++ {
		o, code := c.exec(0, "describe-security-groups", "--group-ids", group, "--output", "json")
		if code == 0 {
			out = o
			break
		}
		if code != 4 || attempt == 20 {
			t.Fatalf("describe-security-groups %s: exit %d\n%s", group, code, o)
		}
		*c.retries++
		time.Sleep(500 * time.Millisecond)
	}
	var resp struct {
		SecurityGroups []struct {
			IPPermissions []struct {
				IPProtocol string `json:"ipProtocol"`
				FromPort   int    `json:"fromPort"`
				ToPort     int    `json:"toPort"`
				IPRanges   []struct {
					CidrIP string `json:"cidrIp"`
				} `json:"ipRanges"`
			} `json:"ipPermissions"`
		} `json:"securityGroups"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil || len(resp.SecurityGroups) != 1 {
		t.Fatalf("describe-security-groups %s: %v\n%s", group, err, out)
	}
	var rules []string
	for _, p := range resp.SecurityGroups[0].IPPermissions {
		for _, r := range p.IPRanges {
			rules = append(rules, fmt.Sprintf("%s %d-%d %s", p.IPProtocol, p.FromPort, p.ToPort, r.CidrIP))
		}
	}
	return rules
}

// scrapeSum adds up every sample of the metric name on addr's /metrics.
func scrapeSum(t *testing.T, addr, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d, %v", addr, resp.StatusCode, err)
	}
	sum := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("scrape %s: %q: %v", addr, line, err)
		}
		sum += v
	}
	return sum
}
