package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/palisadehq/palisade/ec2sim"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/natsembed"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
	"github.com/palisadehq/palisade/services"
	"github.com/palisadehq/palisade/workers"
)

// stack is a whole Palisade in the test process: embedded NATS, the local
// EC2 endpoint, the gRPC API on a real socket, and one worker.
type stack struct {
	t    *testing.T
	addr string // the API's host:port
}

func newStack(t *testing.T) *stack { return newStackWith(t, true) }

// newStackWith starts a stack, with or without its worker: without one,
// operations are accepted and stay ACCEPTED.
func newStackWith(t *testing.T, withWorker bool) *stack {
	t.Helper()
	sim, err := ec2sim.New(ec2sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.Handler(sim))
	t.Cleanup(hs.Close)

	js := natstest.Connect(t, natstest.Server(t, natsembed.Options{}))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := bus.Declare(ctx, js, bus.DefaultTopology(1)); err != nil {
		t.Fatal(err)
	}
	factory, err := ec2client.New(ctx, ec2client.Options{Endpoint: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := services.New(ctx, services.Deps{JetStream: js, EC2: factory, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	if !withWorker {
		return &stack{t: t, addr: ln.Addr().String()}
	}
	w, err := workers.New(ctx, workers.Options{
		JetStream: js, EC2: factory, Log: log,
		Heartbeat: 500 * time.Millisecond, BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		ShutdownGrace: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-registered first: the worker stops before the API,
	// NATS and the EC2 endpoint it uses go away.
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the worker did not stop within 10s")
		}
	})
	r, err := workers.NewRollouts(ctx, workers.Options{JetStream: js, EC2: factory, Log: log, Heartbeat: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		go func() {
			if err := r.Run(ctx); err != nil {
				t.Errorf("rollouts: %v", err)
			}
		}()
		if err := w.Run(ctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	return &stack{t: t, addr: ln.Addr().String()}
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
