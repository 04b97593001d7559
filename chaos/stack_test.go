package chaos

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/services"
)

const (
	account = "111122223333"
	region  = "us-east-1"
)

var loc = &palisadev1.Location{AccountId: account, Region: region}

// stack is Palisade spread as in production: NATS (one node or a
// cluster), the EC2 endpoint, the API in this process on its own NATS
// connection, and worker processes.
type stack struct {
	t        *testing.T
	ctx      context.Context
	nats     *natsCluster
	ec2      *endpoint
	ec2c     *ec2client.Factory
	topology bus.Topology
	// store reads operation records on the test's own connection.
	store *operations.Store
	js    jetstream.JetStream
	api   palisadev1.SecurityGroupServiceClient
	apiNC *nats.Conn
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
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &stack{t: t, ctx: ctx}
	if o.nodes == 0 {
		o.nodes = 1
	}
	s.nats = startNATS(t, o.nodes)
	s.ec2 = startEndpoint(t, o.sim)
	replicas := 1
	if o.nodes > 1 {
		replicas = 3
	}
	s.topology = bus.DefaultTopology(replicas)
	if o.ackWait > 0 {
		s.topology.AckWait = o.ackWait
	}
	if o.maxDeliver > 0 {
		s.topology.MaxDeliver = o.maxDeliver
	}
	_, js := s.nats.connect("chaos-test")
	s.js = js
	dctx, dcancel := context.WithTimeout(ctx, 60*time.Second)
	defer dcancel()
	if err := bus.Declare(dctx, js, s.topology); err != nil {
		t.Fatal(err)
	}
	store, err := operations.Open(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.store = store
	s.ec2c, err = ec2client.New(ctx, ec2client.Options{Endpoint: s.ec2.url})
	if err != nil {
		t.Fatal(err)
	}
	s.startAPI()
	for i := range o.workers {
		s.workers = append(s.workers, startWorkerProc(t, "w"+strconv.Itoa(i), s.workerArgs(o.workerFlags...)))
	}
	return s
}

// workerArgs are a worker's flags for this stack.
func (s *stack) workerArgs(extra ...string) []string {
	return workerArgs(s.nats.URL(), s.ec2.url, append([]string{
		"--replicas", strconv.Itoa(s.topology.Replicas),
		"--ack-wait", s.topology.AckWait.String(),
		"--max-deliver", strconv.Itoa(s.topology.MaxDeliver),
	}, extra...)...)
}

// startAPI serves the gRPC front end on its own NATS connection, which
// reconnects for ever as `palisade api`'s does.
func (s *stack) startAPI() {
	t := s.t
	nc, js := s.nats.connect("chaos-api")
	s.apiNC = nc
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := services.New(s.ctx, services.Deps{JetStream: js, EC2: s.ec2c, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	s.stopAPI = srv.GracefulStop
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	s.api = palisadev1.NewSecurityGroupServiceClient(conn)
}
