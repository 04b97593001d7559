package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/palisadehq/palisade/palisadetest"
)

// stack is a whole Palisade in the test process (palisadetest): embedded
// NATS, the local EC2 endpoint, the gRPC API on a real socket, and one
// worker with a rollout driver.
type stack struct {
	t    *testing.T
	addr string // the API's host:port
}

func newStack(t *testing.T) *stack { return newStackWith(t, true) }

// newStackWith starts a stack, with or without its worker and rollout
// driver: without them, operations are accepted and stay ACCEPTED.
func newStackWith(t *testing.T, withWorker bool) *stack {
	t.Helper()
	o := palisadetest.Options{}
	if withWorker {
		o.Workers, o.Rollouts = 1, 1
	}
	return &stack{t: t, addr: palisadetest.Start(t, o).Addr}
}

// result is what one palisadectl run left behind.
type result struct {
	code           int
	stdout, stderr string
}

// ctl runs palisadectl against the stack, with the environment env.
func (s *stack) ctl(env map[string]string, args ...string) result {
	s.t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["PALISADE_SERVER"]; !ok {
		env["PALISADE_SERVER"] = s.addr
	}
	return ctl(s.t, env, "", args...)
}

// ctl runs palisadectl with only the environment env and stdin.
func ctl(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := run(ctx, args, lookup, strings.NewReader(stdin), &out, &errOut)
	r := result{code: code, stdout: out.String(), stderr: errOut.String()}
	t.Logf("palisadectl %s\n→ exit %d\nstdout:\n%sstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// must fails the test unless the run exited with code.
func (r result) must(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}
