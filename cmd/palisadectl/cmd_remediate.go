package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func rolloutRemediateCommand() command {
	return command{
		name:     rolloutGroup + " remediate",
		summary:  "revoke, or re-peer, as a rollout, the rules a fleet search finds (--validate-only: each group's losses and gains)",
		mutating: true,
		setup: func(fs *flag.FlagSet) action {
			targets := listVar(fs, "targets", "ACCOUNT/REGION pairs to search (default: --account-id and --region)", true)
			accounts := listVar(fs, "accounts", "accounts to search in every one of --regions (instead of --targets)", true)
			regions := listVar(fs, "regions", "regions to search in every one of --accounts", true)
			filters := listVar(fs, "filters", "EC2's filters, as for describe-security-groups", false)
			preds := listVar(fs, "rule", "the rules to revoke, as for search: Direction=ingress,Protocol=tcp,Port=22,CidrContains=0.0.0.0/0 (required)", false)
			replace := fs.String("replace-peer-cidr", "", "instead of revoking the matching rules, replace their peer with this CIDR (e.g. 10.0.0.0/8)")
			strategy := strategyFlags(fs, false)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if len(preds.values) == 0 {
					return usagef("--rule is required: the rules to revoke")
				}
				search := &palisadev1.SearchSecurityGroupsRequest{}
				var err error
				if search.Targets, err = searchTargets(e, targets.values, accounts.values, regions.values); err != nil {
					return err
				}
				if search.Filters, err = protoFilters(filters.values); err != nil {
					return err
				}
				if search.RulePredicates, err = parsePredicates(preds.values); err != nil {
					return err
				}
				req := &palisadev1.StartRolloutRequest{
					RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly,
					Strategy:    strategy.get(),
					Remediation: &palisadev1.RolloutRemediation{Search: search, Action: palisadev1.RolloutRemediation_ACTION_REVOKE_MATCHING_RULES},
				}
				if *replace != "" {
					req.Remediation.Action, req.Remediation.ReplacementCidr = palisadev1.RolloutRemediation_ACTION_REPLACE_PEER_CIDR, *replace
				}
				if err := e.connect(); err != nil {
					return err
				}
				e.verbosef("request id: %s", e.m.requestID)
				started, err := e.api.StartRollout(ctx, req)
				if err != nil {
					return err
				}
				if !e.m.validateOnly {
					return e.followStarted(ctx, started.Proto)
				}
				return e.printDerivedPlan(started.Proto)
			}
		},
	}
}

// writeLosses lists what each group of a derived plan loses (by rule id)
// and gains.
func writeLosses(w io.Writer, plan *palisadev1.RolloutPlan) error {
	fmt.Fprintln(w)
	t := newTable(w, "ACCOUNT", "REGION", "GROUP ID", "CHANGE", "RULE ID", "DIRECTION", "PROTOCOL", "PORTS", "PEER", "DESCRIPTION")
	for _, l := range plan.GetLocations() {
		for _, g := range l.GetGroupPlans() {
			for _, side := range []struct {
				what  string
				rules []*palisadev1.SecurityGroupRule
			}{{"loses", g.GetLosses()}, {"gains", g.GetGains()}} {
				for _, r := range side.rules {
					peer := r.GetCidrIpv4() + r.GetCidrIpv6() + r.GetPrefixListId() + r.GetReferencedGroupId()
					t.row(l.GetLocation().GetAccountId(), l.GetLocation().GetRegion(), g.GetGroupId(), side.what, r.GetSecurityGroupRuleId(),
						direction(r.GetIsEgress()), protocolText(r.GetIpProtocol()), portsText(r.GetFromPort(), r.GetToPort()), peer, r.GetDescription())
				}
			}
		}
	}
	return t.flush()
}

func rolloutRollbackCommand() command {
	return command{
		name:     rolloutGroup + " rollback",
		args:     "<name|id>",
		summary:  "undo what an ended rollout changed, as a new rollout (--validate-only: each group's gains and losses, and what changed since)",
		mutating: true,
		setup: func(fs *flag.FlagSet) action {
			strategy := strategyFlags(fs, true)
			return func(ctx context.Context, e *env, args []string) error {
				name, err := rolloutName(args)
				if err != nil {
					return err
				}
				req := &palisadev1.RollbackRolloutRequest{Name: name, RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly}
				if strategy.set() {
					req.Strategy = strategy.get()
				}
				if err := e.connect(); err != nil {
					return err
				}
				started, err := e.api.RollbackRollout(ctx, req)
				if err != nil {
					return err
				}
				if !e.m.validateOnly {
					return e.followStarted(ctx, started.Proto)
				}
				return e.printDerivedPlan(started.Proto)
			}
		},
	}
}

// printDerivedPlan prints the plan of a remediation or a rollback: the
// rollout's plan, then each group's losses and gains, then what is left
// alone because it changed since.
func (e *env) printDerivedPlan(op *longrunningpb.Operation) error {
	if err := e.printPlan(op); err != nil || e.g.json() {
		return err
	}
	ro := &palisadev1.Rollout{}
	if err := op.GetResponse().UnmarshalTo(ro); err != nil {
		return fmt.Errorf("read the plan: %w", err)
	}
	if err := writeLosses(e.stdout, ro.GetPlan()); err != nil {
		return err
	}
	for _, g := range ro.GetGroupChanges() {
		for _, d := range g.GetDrift() {
			fmt.Fprintf(e.stdout, "left alone in %s/%s/%s: %s\n", g.GetLocation().GetAccountId(), g.GetLocation().GetRegion(), g.GetGroupId(), d)
		}
	}
	return nil
}
