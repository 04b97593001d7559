package rollout

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func TestParts(t *testing.T) {
	var groups []*palisadev1.GroupRules
	for i := 0; i < 300; i++ {
		groups = append(groups, &palisadev1.GroupRules{OperationId: fmt.Sprintf("op-%03d", i), Ingress: []*palisadev1.IpPermission{many(1 + i%50)}})
	}
	// One group alone above the bound still gets its part.
	groups = append(groups, &palisadev1.GroupRules{OperationId: "op-big", Ingress: []*palisadev1.IpPermission{many(250)}})
	const limit = 16 << 10
	parts := Parts(groups, limit)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	var got []string
	for i, p := range parts {
		if n := proto.Size(p); n > limit && len(p.GetGroups()) > 1 {
			t.Fatalf("part %d: %d bytes, %d groups", i, n, len(p.GetGroups()))
		}
		for _, g := range p.GetGroups() {
			got = append(got, g.GetOperationId())
		}
	}
	if len(got) != len(groups) {
		t.Fatalf("%d groups in parts, want %d", len(got), len(groups))
	}
	for i, g := range groups {
		if got[i] != g.GetOperationId() {
			t.Fatalf("group %d is %s, want %s", i, got[i], g.GetOperationId())
		}
	}
	if last := parts[len(parts)-1].GetGroups(); len(last) != 1 || last[0].GetOperationId() != "op-big" {
		t.Fatalf("the oversized group shares its part: %d groups", len(last))
	}
	if Parts(nil, limit) != nil {
		t.Fatal("parts of nothing")
	}
}
