package e2e

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/services"
)

// Bounds the amplification test holds the API to (design invariant 10).
const (
	// maxErrorBytes bounds an INVALID_ARGUMENT's status, message and
	// details together, whatever the request.
	maxErrorBytes = 64 << 10
	// maxAllocFactor bounds what one invalid request allocates in the
	// process, as a multiple of its size, plus allocSlack for the call
	// itself. Decoding alone costs 40-120 bytes per empty sub-message of
	// two bytes on the wire (an IpPermission is the largest), before any
	// of Palisade's code runs. The worst shape measured, about 250 times,
	// is a rollout of 100 targets with a thousand malformed group ids
	// each: every id's violation is built before the list is capped.
	maxAllocFactor = 300
	allocSlack     = 4 << 20
)

// TestInvalidRequestsCostBoundedWork sends, through the API's real gRPC
// port with its hardening options, invalid requests of the worst shapes
// (empty ip_ranges, many permissions, many bad CIDRs, many tags, many
// rollout targets and group ids) at sizes from about 1 KB up to the 1 MiB
// request limit. Each answer is INVALID_ARGUMENT no larger than
// maxErrorBytes, and the process allocates at most maxAllocFactor times
// the request (runtime.MemStats.TotalAlloc around the call, in-process:
// client, server and NATS together, so an upper bound for the server).
func TestInvalidRequestsCostBoundedWork(t *testing.T) {
	if testing.Short() {
		t.Skip("sends requests of up to 1 MiB")
	}
	s := palisadetest.Start(t, palisadetest.Options{ServerOptions: services.Hardening()})
	sg, ro := s.SecurityGroups, palisadev1.NewRolloutServiceClient(s.Conn)
	ctx := s.Context()
	maxMsg := grpc.MaxCallSendMsgSize(2 * services.MaxRequestBytes)

	shapes := []struct {
		name string
		make func(n int) proto.Message // n: items, growing with the size
	}{
		{"empty ip_ranges", func(n int) proto.Message {
			r := make([]*palisadev1.IpRange, n)
			for i := range r {
				r[i] = &palisadev1.IpRange{}
			}
			return &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: "sg-12345678",
				IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", IpRanges: r}}}
		}},
		{"many permissions", func(n int) proto.Message {
			p := make([]*palisadev1.IpPermission, n/2)
			for i := range p {
				p[i] = &palisadev1.IpPermission{}
			}
			return &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: "sg-12345678", IpPermissions: p}
		}},
		{"many bad CIDRs", func(n int) proto.Message {
			r := make([]*palisadev1.IpRange, n/8)
			for i := range r {
				r[i] = &palisadev1.IpRange{CidrIp: "x"}
			}
			return &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: "sg-12345678",
				IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", IpRanges: r}}}
		}},
		{"120 long bad CIDRs", func(n int) proto.Message {
			r := make([]*palisadev1.IpRange, 120)
			for i := range r {
				r[i] = &palisadev1.IpRange{CidrIp: strings.Repeat("9", n/128), Description: strings.Repeat("\x00", n/128)}
			}
			return &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: "sg-12345678",
				IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", IpRanges: r}}}
		}},
		{"many tags", func(n int) proto.Message {
			tags := map[string]string{}
			for i := range n / 8 {
				tags[fmt.Sprintf("k%x", i)] = "\u202e"
			}
			return &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "g", Description: "d", Tags: tags}
		}},
		{"50 huge tags", func(n int) proto.Message {
			tags := map[string]string{}
			for i := range 50 {
				tags[fmt.Sprintf("%x", i)+strings.Repeat("k", n/100)] = strings.Repeat("\x01", n/100)
			}
			return &palisadev1.ListSecurityGroupsRequest{Location: loc, Tags: tags}
		}},
		{"many rollout targets", func(n int) proto.Message {
			tg := make([]*palisadev1.RolloutTarget, n/4)
			for i := range tg {
				tg[i] = &palisadev1.RolloutTarget{GroupIds: []string{"x"}}
			}
			return &palisadev1.StartRolloutRequest{Change: &palisadev1.RuleChange{}, Targets: tg}
		}},
		{"100 targets of many bad group ids", func(n int) proto.Message {
			tg := make([]*palisadev1.RolloutTarget, 100)
			for i := range tg {
				ids := make([]string, min(n/300, 1000))
				for j := range ids {
					ids[j] = "x"
				}
				tg[i] = &palisadev1.RolloutTarget{Location: loc, GroupIds: ids}
			}
			return &palisadev1.StartRolloutRequest{Change: &palisadev1.RuleChange{}, Targets: tg}
		}},
		{"huge operation name", func(n int) proto.Message {
			return &palisadev1.GetRolloutRequest{Name: "rollouts/" + strings.Repeat("\u202e", n/3)}
		}},
	}
	call := func(m proto.Message) error {
		switch r := m.(type) {
		case *palisadev1.AuthorizeSecurityGroupIngressRequest:
			_, err := sg.AuthorizeSecurityGroupIngress(ctx, r, maxMsg)
			return err
		case *palisadev1.CreateSecurityGroupRequest:
			_, err := sg.CreateSecurityGroup(ctx, r, maxMsg)
			return err
		case *palisadev1.ListSecurityGroupsRequest:
			_, err := sg.ListSecurityGroups(ctx, r, maxMsg)
			return err
		case *palisadev1.StartRolloutRequest:
			_, err := ro.StartRollout(ctx, r, maxMsg)
			return err
		case *palisadev1.GetRolloutRequest:
			_, err := ro.GetRollout(ctx, r, maxMsg)
			return err
		}
		panic("unknown request")
	}

	for _, shape := range shapes {
		for _, n := range []int{512, 8 << 10, 64 << 10, 480 << 10} {
			req := shape.make(n)
			size := proto.Size(req)
			if size > services.MaxRequestBytes {
				continue
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := call(req)
			runtime.ReadMemStats(&after)
			st := status.Convert(err)
			errSize := proto.Size(st.Proto())
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%-34s request %8d B → error %6d B (%d field violations), allocated %9d B (%.1f× the request)",
				shape.name, size, errSize, countViolations(st), alloc, float64(alloc)/float64(size))
			if st.Code() != codes.InvalidArgument {
				t.Errorf("%s, %d B: %v, want InvalidArgument", shape.name, size, st.Code())
			}
			if errSize > maxErrorBytes {
				t.Errorf("%s, %d B: error of %d B, over %d", shape.name, size, errSize, maxErrorBytes)
			}
			if limit := uint64(maxAllocFactor*size + allocSlack); alloc > limit {
				t.Errorf("%s, %d B: allocated %d B, over %d", shape.name, size, alloc, limit)
			}
		}
	}
}

func countViolations(st *status.Status) int {
	n := 0
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			n += len(br.GetFieldViolations())
		}
	}
	return n
}
