package infratest_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/palisadehq/palisade/ec2sim"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
	"github.com/palisadehq/palisade/palisadetest/infratest"
)

// TestStartOnAGivenNATSThroughAHandler: on a NATS the caller runs,
// Start declares the topology there and starts no server of its own;
// the EC2 factory's calls reach the endpoint through the given handler.
func TestStartOnAGivenNATSThroughAHandler(t *testing.T) {
	srv := natstest.Server(t, natsembed.Options{})
	var seen atomic.Int64
	e := infratest.Start(t, infratest.Options{
		NATSURL:    srv.ClientURL(),
		MaxDeliver: 3,
		Handler: func(sim *ec2sim.Sim) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen.Add(1)
				sim.ServeHTTP(w, r)
			})
		},
	})
	if e.Server != nil {
		t.Error("started a NATS server of its own")
	}
	if e.Topology.MaxDeliver != 3 || e.Topology.Replicas != 1 {
		t.Errorf("topology %+v, want MaxDeliver 3 on one replica", e.Topology)
	}
	if _, err := e.JetStream.Stream(e.Context(), bus.CommandStream); err != nil {
		t.Fatalf("command stream on the given NATS: %v", err)
	}
	if _, err := e.EC2.Client("111122223333", "us-east-1").DescribeSecurityGroups(e.Context(), &ec2.DescribeSecurityGroupsInput{}); err != nil {
		t.Fatal(err)
	}
	if seen.Load() == 0 {
		t.Fatal("the EC2 call did not go through the handler")
	}
}
