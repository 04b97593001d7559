// Package typescript_test runs the TypeScript client's seed lab example
// with Node against `palisade serve`, as a Node team would run it.
package typescript_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisadehq/palisade/client"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestSeedLabExample: npm ci, tsc (which type-checks the client and the
// example as it builds them), then the example against a real `palisade
// serve`: it finds the VPC, creates the group, allows SSH and HTTP and
// shows a bad rule refused by its field. EC2 then holds both rules.
func TestSeedLabExample(t *testing.T) {
	ctx := build(t)
	addr := serve(t, ctx)
	out := run(t, ctx, ".", []string{"PALISADE_SERVER=" + addr}, "node", "dist/examples/seed-lab.js", "lab-sg")

	group := regexp.MustCompile(`Security Group created with ID: (sg-[0-9a-f]+)`).FindStringSubmatch(out)
	for _, want := range []string{"VPC: vpc-", "Inbound rules added to the security group successfully! sgr-", "Refused: ip_permissions[0].ip_ranges[0].cidr_ip: "} {
		if !strings.Contains(out, want) {
			t.Errorf("the example printed no %q:\n%s", want, out)
		}
	}
	if group == nil {
		t.Fatalf("the example printed no group id:\n%s", out)
	}

	c, err := client.Dial(addr, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sg, err := c.GetSecurityGroup(ctx, &palisadev1.GetSecurityGroupRequest{
		Location: &palisadev1.Location{AccountId: "123456789012", Region: "us-east-1"}, GroupId: group[1],
	})
	if err != nil {
		t.Fatal(err)
	}
	ports := map[int32]string{}
	for _, p := range sg.GetIpPermissions() {
		for _, r := range p.GetIpRanges() {
			ports[p.GetFromPort()] = r.GetCidrIp()
		}
	}
	if sg.GetGroupName() != "lab-sg" || len(ports) != 2 || ports[22] != "10.0.0.0/8" || ports[80] != "0.0.0.0/0" {
		t.Fatalf("EC2 holds %s with inbound %v; want lab-sg with SSH from 10.0.0.0/8 and HTTP from 0.0.0.0/0", sg.GetGroupName(), ports)
	}
}

// built is set once npm ci and the build have succeeded in this process.
var built bool

// build skips under -short and without Node (CI must have it), then
// installs the npm packages and compiles the client, its example and its
// tests, once per process. It returns the test's context, bounded.
func build(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("installs the npm packages and runs Node")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; CI must run the TypeScript client's tests", tool)
			}
			t.Skipf("%s is not installed: the TypeScript client's tests need Node 20 and npm", tool)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	t.Cleanup(cancel)
	if !built {
		run(t, ctx, ".", nil, "npm", "ci", "--no-audit", "--no-fund")
		run(t, ctx, ".", nil, "npm", "run", "build")
		built = true
	}
	return ctx
}

// run runs a command in dir and returns its standard output; a failure
// fails the test with both outputs.
func run(t *testing.T, ctx context.Context, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// serve builds palisade and starts `palisade serve` on free loopback
// ports and a data directory of the test's, stopped as Ctrl-C stops it
// when the test ends; it returns the API's address once it answers.
func serve(t *testing.T, ctx context.Context) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "palisade")
	run(t, ctx, "../..", nil, "go", "build", "-o", bin, "./cmd/palisade")
	addrs := freeAddrs(t, 3)
	var log syncBuffer
	cmd := exec.Command(bin, "serve", "--data-dir", t.TempDir(),
		"--grpc-listen", addrs[0], "--nats-listen", addrs[1], "--ec2-listen", addrs[2])
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed once serve has exited, with its error in waitErr.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("palisade serve's log:\n%s", log.String())
		}
	})

	c, err := client.Dial(addrs[0], client.Options{Retry: client.Retry{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for {
		_, err := c.ListSecurityGroups(ctx, &palisadev1.ListSecurityGroupsRequest{
			Location: &palisadev1.Location{AccountId: "123456789012", Region: "us-east-1"},
		})
		if err == nil {
			return addrs[0]
		}
		select {
		case <-exited:
			t.Fatalf("palisade serve exited: %v\n%s", waitErr, log.String())
		case <-ctx.Done():
			t.Fatalf("palisade serve did not answer: %v\n%s", err, log.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// syncBuffer is serve's output, written by the process's copiers and
// read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddrs returns n distinct loopback addresses nobody listens on now.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addrs[i] = ln.Addr().String()
	}
	return addrs
}
