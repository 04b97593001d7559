package chaos

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/palisadetest/infratest"
)

const (
	account = "111122223333"
	region  = "us-east-1"
)

var loc = &palisadev1.Location{AccountId: account, Region: region}

// stack is Palisade spread as in production: NATS (one node or a
// cluster, which the scenarios stop and start), the EC2 endpoint with a
// note of every request, the API in this process on its own NATS
// connection (palisadetest), and worker processes.
type stack struct {
	t        *testing.T
	ctx      context.Context
	nats     *natsCluster
	ec2      *endpoint
	ec2c     *ec2client.Factory
	topology bus.Topology
	// store reads operation records on the test's own connection.
	store    *operations.Store
	js       jetstream.JetStream
	api      palisadev1.SecurityGroupServiceClient
	rollouts palisadev1.RolloutServiceClient
	apiNC    *nats.Conn
	// stopAPI stops the gRPC server (GracefulStop).
	stopAPI func()
	workers []*workerProc
}

type stackOptions struct {
	nodes      int // NATS nodes: 1, or 3 for a cluster
	sim        ec2sim.Options
	ackWait    time.Duration
	maxDeliver int
	workers    int
	// workerFlags are added to every worker's command line.
	workerFlags []string
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	if o.nodes == 0 {
		o.nodes = 1
	}
	replicas := 1
	if o.nodes > 1 {
		replicas = 3
	}
	s := &stack{t: t, nats: startNATS(t, o.nodes)}
	ps := palisadetest.Start(t, palisadetest.Options{
		Infra: infratest.Options{
			NATSURL:         s.nats.URL(),
			NATSCredentials: s.nats.creds,
			NATSTLS:         s.nats.clientTLS(),
			Replicas:        replicas,
			AckWait:         o.ackWait,
			MaxDeliver:      o.maxDeliver,
			Sim:             o.sim,
			Handler:         func(sim *ec2sim.Sim) http.Handler { s.ec2 = newEndpoint(sim); return s.ec2 },
		},
		Log: slog.New(slog.DiscardHandler),
	})
	s.ec2.url = ps.EndpointURL
	s.ctx, s.js, s.topology, s.ec2c = ps.Context(), ps.JetStream, ps.Topology, ps.EC2
	s.api, s.rollouts, s.apiNC, s.stopAPI = ps.SecurityGroups, ps.Rollouts, ps.APIConn, ps.StopAPI
	store, err := operations.Open(s.ctx, s.js, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.store = store
	for i := range o.workers {
		s.workers = append(s.workers, startWorkerProc(t, "w"+strconv.Itoa(i), s.workerArgs(o.workerFlags...)))
	}
	return s
}

// workerArgs are a worker's flags for this stack.
func (s *stack) workerArgs(extra ...string) []string {
	return workerArgs(s.nats.args(bus.RoleWorker), s.ec2.url, append([]string{
		"--replicas", strconv.Itoa(s.topology.Replicas),
		"--ack-wait", s.topology.AckWait.String(),
		"--max-deliver", strconv.Itoa(s.topology.MaxDeliver),
	}, extra...)...)
}
