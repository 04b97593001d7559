package e2e

import (
	"maps"
	"slices"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/command"
)

// ruleTags reads one rule's tags.
func (e *env) ruleTags(id string) map[string]string {
	e.t.Helper()
	return e.liveRule(id).GetTags()
}

// groupTags reads one group's tags without Palisade's marker.
func (e *env) groupTags(id string) map[string]string {
	e.t.Helper()
	g, err := e.sg.GetSecurityGroup(e.ctx, &palisadev1.GetSecurityGroupRequest{Location: loc, GroupId: id})
	if err != nil {
		e.t.Fatal(err)
	}
	if g.GetTags()[command.MarkerTagKey] == "" {
		e.t.Errorf("group %s lost its marker tag: %v", id, g.GetTags())
	}
	tags := maps.Clone(g.GetTags())
	delete(tags, command.MarkerTagKey)
	return tags
}

// TestTags tags a group and its rules into and out of scope, and refuses
// reserved keys, another group's resources and rules it does not have.
func TestTags(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	group, ids := e.newGroupWithRules("tags", tcp(22, 22, "10.1.0.0/16", "10.2.0.0/16"))
	other, otherIDs := e.newGroupWithRules("tags-other", tcp(22, 22, "10.3.0.0/16"))
	r1, r2 := ids["10.1.0.0/16"], ids["10.2.0.0/16"]

	op, err := e.sg.CreateTags(e.ctx, &palisadev1.CreateTagsRequest{Location: loc, GroupId: group,
		ResourceIds: []string{group, r1}, Tags: map[string]string{"team": "payments", "tier": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if md := metadata(t, op); md.GetKind() != palisadev1.OperationKind_OPERATION_KIND_CREATE_TAGS || md.GetGroupId() != group {
		t.Fatalf("metadata %v", md)
	}
	res := e.succeeded(op)
	if len(res.GetSecurityGroupRules()) != 1 || res.GetSecurityGroupRules()[0].GetSecurityGroupRuleId() != r1 {
		t.Errorf("result names rules %v, want %s", res.GetSecurityGroupRules(), r1)
	}
	want := map[string]string{"team": "payments", "tier": "web"}
	if got := e.groupTags(group); !maps.Equal(got, want) {
		t.Errorf("group tags %v, want %v", got, want)
	}
	if got := e.ruleTags(r1); !maps.Equal(got, want) {
		t.Errorf("rule tags %v, want %v", got, want)
	}
	if got := e.ruleTags(r2); len(got) != 0 {
		t.Errorf("untouched rule has tags %v", got)
	}
	// Tagged rules are found by tag.
	resp, err := e.sg.ListSecurityGroupRules(e.ctx, &palisadev1.ListSecurityGroupRulesRequest{Location: loc,
		Filters: []*palisadev1.Filter{{Name: "tag:team", Values: []string{"pay*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleIDsOf(resp.GetSecurityGroupRules()); !slices.Equal(got, []string{r1}) {
		t.Errorf("rules tagged team=pay*: %v, want %s", got, r1)
	}

	// A value that does not match removes nothing; a key alone removes
	// whatever value.
	e.succeeded(e.accepted(e.sg.DeleteTags(e.ctx, &palisadev1.DeleteTagsRequest{Location: loc, GroupId: group,
		ResourceIds: []string{group}, Tags: map[string]string{"team": "search"}})))
	if got := e.groupTags(group); !maps.Equal(got, want) {
		t.Errorf("after deleting team=search, group tags %v, want %v", got, want)
	}
	e.succeeded(e.accepted(e.sg.DeleteTags(e.ctx, &palisadev1.DeleteTagsRequest{Location: loc, GroupId: group,
		ResourceIds: []string{group, r1}, Tags: map[string]string{"team": "payments"}, TagKeys: []string{"tier"}})))
	if got := e.groupTags(group); len(got) != 0 {
		t.Errorf("after delete, group tags %v", got)
	}
	if got := e.ruleTags(r1); len(got) != 0 {
		t.Errorf("after delete, rule tags %v", got)
	}

	// A rule of another group, or one EC2 does not have, fails the
	// operation with EC2's code, and nothing is tagged.
	e.failedWith(e.accepted(e.sg.CreateTags(e.ctx, &palisadev1.CreateTagsRequest{Location: loc, GroupId: group,
		ResourceIds: []string{group, otherIDs["10.3.0.0/16"]}, Tags: map[string]string{"team": "x"}})), "InvalidSecurityGroupRuleId.NotFound", codes.NotFound)
	e.failedWith(e.accepted(e.sg.DeleteTags(e.ctx, &palisadev1.DeleteTagsRequest{Location: loc, GroupId: group,
		ResourceIds: []string{"sgr-0123456789abcdef0"}, TagKeys: []string{"team"}})), "InvalidSecurityGroupRuleId.NotFound", codes.NotFound)
	if got := e.groupTags(group); len(got) != 0 {
		t.Errorf("a failed tag request tagged the group: %v", got)
	}
	if got := e.ruleTags(otherIDs["10.3.0.0/16"]); len(got) != 0 {
		t.Errorf("a failed tag request tagged another group's rule: %v", got)
	}

	// Bad input is refused up front, each field named.
	before := queued(t, e)
	_, err = e.sg.CreateTags(e.ctx, &palisadev1.CreateTagsRequest{Location: loc, GroupId: group,
		ResourceIds: []string{other, "sgr-1", "vpc-12345678", group, group},
		Tags:        map[string]string{"aws:x": "y", command.MarkerTagKey: "z"}})
	named := fieldsOf(t, err)
	for _, f := range []string{"resource_ids[0]", "resource_ids[1]", "resource_ids[2]", "resource_ids[4]", `tags["aws:x"]`, "tags"} {
		if !slices.Contains(named, f) {
			t.Errorf("create-tags: field %s not named; violations: %v", f, named)
		}
	}
	_, err = e.sg.DeleteTags(e.ctx, &palisadev1.DeleteTagsRequest{Location: loc, GroupId: group, ResourceIds: []string{group}})
	if named := fieldsOf(t, err); !slices.Contains(named, "tags") {
		t.Errorf("delete-tags naming no tag: violations %v", named)
	}
	_, err = e.sg.DeleteTags(e.ctx, &palisadev1.DeleteTagsRequest{Location: loc, GroupId: group, ResourceIds: []string{group},
		TagKeys: []string{command.MarkerTagKey, "AWS:cloudformation:stack-name"}})
	if named := fieldsOf(t, err); !slices.Contains(named, "tag_keys[0]") || !slices.Contains(named, "tag_keys[1]") {
		t.Errorf("delete-tags of reserved keys: violations %v", named)
	}
	if after := queued(t, e); after != before {
		t.Fatalf("invalid tag requests stored %d commands", after-before)
	}
}

// accepted fails the test unless a mutating call was accepted, and
// returns its operation.
func (e *env) accepted(op *longrunningpb.Operation, err error) *longrunningpb.Operation {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("not accepted: %v", err)
	}
	return op
}
