package services

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
	"github.com/palisadehq/palisade/internal/validate"
)

// TestLargestRolloutFitsTheRequestLimit: a rollout to a thousand groups
// by id with the largest change validation accepts (a full quota of rules
// in each of the four lists, every description at its maximum length) is
// valid and far below MaxRequestBytes.
func TestLargestRolloutFitsTheRequestLimit(t *testing.T) {
	// Revokes name other rules than those added (the same rule in both
	// is refused): udp against tcp.
	perms := func(protocol, fill string) []*palisadev1.IpPermission {
		var out []*palisadev1.IpPermission
		for i := range rules.MaxRulesPerDirection {
			port := int32(1000 + i)
			out = append(out, &palisadev1.IpPermission{
				IpProtocol: protocol, FromPort: &port, ToPort: &port,
				Ipv6Ranges: []*palisadev1.Ipv6Range{{
					CidrIpv6:    fmt.Sprintf("2001:db8:%x:%x:%x:%x:%x:%x/128", i, i, i, i, i, i),
					Description: strings.Repeat(fill, 255),
				}},
			})
		}
		return out
	}
	ids := make([]string, validate.MaxTargetGroupIDs)
	for i := range ids {
		ids[i] = fmt.Sprintf("sg-%017x", i)
	}
	r := &palisadev1.StartRolloutRequest{
		RequestId: "6f1c7a8e-2d3b-4c5d-8e9f-0a1b2c3d4e5f",
		Change: &palisadev1.RuleChange{
			AuthorizeIngress: perms("tcp", "a"), AuthorizeEgress: perms("tcp", "b"),
			RevokeIngress: perms("udp", "c"), RevokeEgress: perms("udp", "d"),
		},
		Targets: []*palisadev1.RolloutTarget{{
			Location: &palisadev1.Location{AccountId: "111122223333", Region: "us-east-1"}, GroupIds: ids,
		}},
	}
	if v := validate.StartRollout(r); len(v) > 0 {
		t.Fatalf("the request is not valid: %v", v)
	}
	size := proto.Size(r)
	t.Logf("largest rollout to %d groups: %d bytes", len(ids), size)
	if size > MaxRequestBytes/4 {
		t.Fatalf("%d bytes: too close to MaxRequestBytes (%d)", size, MaxRequestBytes)
	}
}
