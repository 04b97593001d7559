package difftest

import (
	"net"
	"net/http"
	"testing"

	"github.com/palisadehq/palisade/ec2sim"
)

// startSim serves a fresh ec2sim on a loopback port for the life of the
// test. Throttling, faults, latency and eventual consistency stay off:
// the scenario checks answers, not timing.
func startSim(t *testing.T) string {
	t.Helper()
	sim, err := ec2sim.New(ec2sim.Options{DefaultAccountID: accountID, Seed: 1})
	if err != nil {
		t.Fatalf("ec2sim.New: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: sim}
	go func() { _ = srv.Serve(l) }() // ErrServerClosed once the test ends
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

func newSimBackend(t *testing.T) *backend { return newBackend("ec2sim", startSim(t)) }

// The seed lab runs against ec2sim, the endpoint users get from Palisade.
func cliEndpoint(t *testing.T) string { return startSim(t) }
