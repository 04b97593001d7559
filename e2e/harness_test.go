package e2e

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/palisadetest/infratest"
	"github.com/palisadehq/palisade/workers"
)

const (
	account = "111122223333"
	region  = "us-east-1"
)

var loc = &palisadev1.Location{AccountId: account, Region: region}

// env is one running Palisade (palisadetest.Stack) under the names the
// tests use.
type env struct {
	t        testing.TB
	ctx      context.Context
	stack    *palisadetest.Stack
	ns       *server.Server
	js       jetstream.JetStream
	sim      *ec2sim.Sim
	simURL   string
	ec2      *ec2client.Factory
	conn     *grpc.ClientConn
	sg       palisadev1.SecurityGroupServiceClient
	ops      longrunningpb.OperationsClient
	events   palisadev1.OperationEventServiceClient
	topology bus.Topology
}

type envOptions struct {
	// syncAlways makes JetStream fsync before every ack, as `palisade
	// serve` does by default; tests leave it off for speed.
	syncAlways bool
	// maxDeliver overrides the command consumers' delivery limit.
	maxDeliver int
	sim        ec2sim.Options
	// assumeRole and externalID make every part assume a role per
	// account, through the endpoint's STS.
	assumeRole, externalID string
	// apiRateFactor, when set, paces the API's reads in the shared rate
	// budget at EC2's rates times this.
	apiRateFactor float64
	workers       int
	worker        workers.Options // template; JetStream, EC2 and Log are filled in
	// policy decides the API's calls; nil: the permissive loopback default.
	policy *policy.Engine
}

// ackWait is short enough that an abandoned delivery comes back within
// the test.
const ackWait = 2 * time.Second

// newEnv starts everything and stops it when the test ends.
func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	s := palisadetest.Start(t, palisadetest.Options{
		Infra: infratest.Options{
			SyncAlways: o.syncAlways,
			AckWait:    ackWait,
			MaxDeliver: o.maxDeliver,
			Sim:        o.sim,
			AssumeRole: o.assumeRole,
			ExternalID: o.externalID,
		},
		APIRateFactor: o.apiRateFactor,
		Policy:        o.policy,
		Workers:       o.workers,
		Worker:        o.worker,
	})
	return &env{
		t: t, ctx: s.Context(), stack: s,
		ns: s.Server, js: s.JetStream, topology: s.Topology,
		sim: s.Sim, simURL: s.EndpointURL, ec2: s.EC2,
		conn: s.Conn, sg: s.SecurityGroups, ops: s.Operations, events: s.Events,
	}
}

// startWorker starts a worker with options o and returns a function that
// stops it and waits until it has.
func (e *env) startWorker(o workers.Options) func() {
	e.t.Helper()
	return e.stack.StartWorker(o)
}

// startRollouts starts a rollout driver with options o and returns a
// function that stops it and waits until it has.
func (e *env) startRollouts(o workers.Options) func() {
	e.t.Helper()
	return e.stack.StartRollouts(o)
}
