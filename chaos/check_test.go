package chaos

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// verdict is what the checks found; every count must be zero.
type verdict struct {
	ops        int
	lost       int // accepted, never ended
	notOK      int // ended other than SUCCEEDED
	duplicated int // groups created twice, effects applied twice, extra rules
	missing    int // rules or groups EC2 lacks
	outOfOrder int // effects on a group out of acceptance order
	mismatched int // results that do not match what EC2 holds
	problems   []string
}

func (v *verdict) add(counter *int, format string, args ...any) {
	*counter++
	if len(v.problems) < 40 {
		v.problems = append(v.problems, fmt.Sprintf(format, args...))
	}
}

func (v *verdict) ok() bool {
	return v.lost+v.notOK+v.duplicated+v.missing+v.outOfOrder+v.mismatched == 0
}

func (v *verdict) figures() []figure {
	return []figure{{"ops", v.ops}, {"lost", v.lost}, {"failed", v.notOK}, {"duplicated", v.duplicated},
		{"missing", v.missing}, {"out_of_order", v.outOfOrder}, {"mismatched", v.mismatched}}
}

// check compares the operations' records, EC2's end state and the
// endpoint's call log against the plan:
//   - every accepted operation ended, SUCCEEDED (unless allowFailed says
//     otherwise for it);
//   - EC2 holds exactly the rules the operations leave when applied in
//     order, deleted groups are gone, no group was created twice;
//   - each operation's effect reached EC2 exactly once (a create: its
//     group and first rule; an authorize: its rule; a revoke: its removal;
//     a delete: the deletion), and effects on a group arrived in the order
//     the group's operations were accepted;
//   - each result names what EC2 holds: the group a create made, the
//     sgr- ids an authorize created.
func (s *stack) check(groups []*plannedGroup, lost []*plannedOp) *verdict {
	v := &verdict{ops: countOps(groups)}
	for _, op := range lost {
		s.explain(op)
		v.add(&v.lost, "operation %s (%s #%d of %s) did not end", op.id, op.kind, op.seq, op.group.name)
	}
	for _, g := range groups {
		for _, op := range g.ops {
			if op.accepted.IsZero() {
				v.add(&v.lost, "%s #%d of %s was never accepted", op.kind, op.seq, g.name)
				continue
			}
			if op.record != nil && op.record.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
				v.add(&v.notOK, "%s #%d of %s ended %v: %v", op.kind, op.seq, g.name, op.record.GetMetadata().GetState(), op.record.GetError().GetMessage())
			}
		}
	}
	s.checkEC2State(groups, v)
	s.checkCallLog(groups, v)
	return v
}

func (s *stack) checkEC2State(groups []*plannedGroup, v *verdict) {
	// The check reads EC2 as it is: no injected faults, no throttling.
	s.ec2.sim.SetFaults(0, 0, 0)
	s.ec2.sim.SetThrottle(false, 1)
	ctx := context.Background()
	c := s.ec2c.Client(account, region)
	for _, g := range groups {
		if g.id == "" {
			continue
		}
		out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
			Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{g.name}}}})
		if err != nil {
			s.t.Fatalf("describe %s: %v", g.name, err)
		}
		if g.deleted() {
			if len(out.SecurityGroups) != 0 {
				v.add(&v.duplicated, "group %s exists after its delete", g.name)
			}
			continue
		}
		if len(out.SecurityGroups) != 1 || aws.ToString(out.SecurityGroups[0].GroupId) != g.id {
			v.add(&v.missing, "group %s: EC2 holds %d groups by that name, want %s", g.name, len(out.SecurityGroups), g.id)
			continue
		}
		rules, err := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
			Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{g.id}}}, MaxResults: aws.Int32(1000)})
		if err != nil {
			s.t.Fatalf("describe rules of %s: %v", g.id, err)
		}
		have := map[string]int{}
		for _, r := range rules.SecurityGroupRules {
			if aws.ToBool(r.IsEgress) && aws.ToString(r.IpProtocol) == "-1" {
				continue // the default egress rule every new group gets
			}
			have[fmt.Sprintf("%v/%d/%s", aws.ToBool(r.IsEgress), aws.ToInt32(r.FromPort), aws.ToString(r.CidrIpv4))]++
		}
		want := map[string]bool{}
		for k, cidrs := range g.expectedRules() {
			for _, cidr := range cidrs {
				want[fmt.Sprintf("%v/%d/%s", k.egress, k.port, cidr)] = true
			}
		}
		for k := range want {
			if have[k] == 0 {
				v.add(&v.missing, "group %s lacks rule %s", g.name, k)
			}
		}
		for k, n := range have {
			if !want[k] || n > 1 {
				v.add(&v.duplicated, "group %s holds rule %s ×%d, want ×%d", g.name, k, n, map[bool]int{true: 1}[want[k]])
			}
		}
	}
}

// checkCallLog attributes every effective mutating call to the operation
// it belongs to and checks counts and order per group.
func (s *stack) checkCallLog(groups []*plannedGroup, v *verdict) {
	calls := s.ec2.calls()
	byName := map[string]*plannedGroup{}
	byID := map[string]*plannedGroup{}
	for _, g := range groups {
		byName[g.name] = g
		if g.id != "" {
			byID[g.id] = g
		}
	}
	// sgr- id → the rule it is, learnt from the authorizes that made it.
	ruleOf := map[string]ruleKey{}
	effects := map[*plannedOp][]ec2Call{}
	lastSeq := map[*plannedGroup]int{}
	created := map[*plannedOp][]string{}
	for _, c := range calls {
		if !c.mutating() || !c.effective() {
			continue
		}
		var g *plannedGroup
		if c.Action == "CreateSecurityGroup" {
			g = byName[c.groupName]
		} else {
			g = byID[c.Call.GroupID]
		}
		if g == nil {
			continue // not the load's (another scenario's set-up)
		}
		op := s.attribute(g, c, ruleOf)
		if op == nil {
			v.add(&v.duplicated, "call %s on %s (ports %v, rules %v) belongs to no operation", c.Action, g.name, c.ports, c.ruleIDs)
			continue
		}
		effects[op] = append(effects[op], c)
		if strings.HasPrefix(c.Action, "Authorize") {
			for _, id := range c.created {
				ruleOf[id] = ruleKey{c.Action == "AuthorizeSecurityGroupEgress", c.ports[0]}
			}
			created[op] = append(created[op], c.created...)
		}
		if op.seq < lastSeq[g] {
			v.add(&v.outOfOrder, "%s on %s: effect of #%d (%s) after one of #%d", c.Action, g.name, op.seq, op.kind, lastSeq[g])
		}
		lastSeq[g] = max(lastSeq[g], op.seq)
	}
	for _, g := range groups {
		for _, op := range g.ops {
			if op.accepted.IsZero() || op.record == nil {
				continue
			}
			want := 1
			if op.kind == opCreate {
				want = 2 // the group, then its first rule
			}
			got := len(effects[op])
			if op.kind == opRevoke && got == 2 && revokedApart(effects[op]) {
				// Rules the worker saw revoked by id, the rest (not yet
				// shown by EC2's reads) by permission: one removal each.
				got = 1
			}
			if got != want {
				counter := &v.missing
				if got > want {
					counter = &v.duplicated
				}
				actions := make([]string, 0, got)
				for _, c := range effects[op] {
					actions = append(actions, c.Action+"@"+c.worker)
				}
				v.add(counter, "%s #%d of %s reached EC2 %d times, want %d: %v", op.kind, op.seq, g.name, got, want, actions)
			}
			s.checkResult(op, created[op], v)
		}
	}
}

// attribute finds the operation of g an effective call belongs to.
func (s *stack) attribute(g *plannedGroup, c ec2Call, ruleOf map[string]ruleKey) *plannedOp {
	switch c.Action {
	case "CreateSecurityGroup":
		return g.ops[0]
	case "DeleteSecurityGroup":
		if g.deleted() {
			return g.ops[len(g.ops)-1]
		}
	case "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress":
		// The workers send one IpPermissions.N per rule; all of one
		// operation's rules share its port.
		if len(c.ports) == 0 || slices.ContainsFunc(c.ports, func(p int32) bool { return p != c.ports[0] }) {
			return nil
		}
		egress := c.Action == "AuthorizeSecurityGroupEgress"
		for _, op := range g.ops {
			if (op.kind == opCreate || op.kind == opAuthorize) && op.egress == egress && op.port == c.ports[0] {
				return op
			}
		}
	case "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress":
		// By rule id (rules the worker saw), or by permission (rules it
		// did not see yet).
		var key ruleKey
		switch {
		case len(c.ruleIDs) > 0:
			k, ok := ruleOf[c.ruleIDs[0]]
			if !ok {
				return nil
			}
			key = k
		case len(c.ports) > 0:
			key = ruleKey{c.Action == "RevokeSecurityGroupEgress", c.ports[0]}
		default:
			return nil
		}
		for _, op := range g.ops {
			if op.kind == opRevoke && op.egress == key.egress && op.port == key.port {
				return op
			}
		}
	}
	return nil
}

// checkResult compares what the operation reported with what EC2 did.
func (s *stack) checkResult(op *plannedOp, created []string, v *verdict) {
	res := op.record.GetResult()
	switch op.kind {
	case opCreate:
		if res.GetGroupId() != op.group.id {
			v.add(&v.mismatched, "create of %s reported %s", op.group.name, res.GetGroupId())
		}
		fallthrough
	case opAuthorize:
		var reported []string
		for _, r := range res.GetSecurityGroupRules() {
			reported = append(reported, r.GetSecurityGroupRuleId())
		}
		sort.Strings(reported)
		sort.Strings(created)
		if !slices.Equal(reported, created) {
			v.add(&v.mismatched, "%s #%d of %s reported rules %v, EC2 created %v", op.kind, op.seq, op.group.name, reported, created)
		}
	}
}

// revokedApart reports whether two revokes of one operation removed
// different rules: one by id, the other by permission.
func revokedApart(cs []ec2Call) bool {
	return len(cs) == 2 && (len(cs[0].ruleIDs) > 0) != (len(cs[1].ruleIDs) > 0)
}
