package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func rolloutRemediateCommand() command {
	return command{
		name:     rolloutGroup + " remediate",
		summary:  "revoke, as a rollout, the rules a fleet search finds (--validate-only: each group's losses)",
		mutating: true,
		setup: func(fs *flag.FlagSet) action {
			targets := listVar(fs, "targets", "ACCOUNT/REGION pairs to search (default: --account-id and --region)", true)
			accounts := listVar(fs, "accounts", "accounts to search in every one of --regions (instead of --targets)", true)
			regions := listVar(fs, "regions", "regions to search in every one of --accounts", true)
			filters := listVar(fs, "filters", "EC2's filters, as for describe-security-groups", false)
			preds := listVar(fs, "rule", "the rules to revoke, as for search: Direction=ingress,Protocol=tcp,Port=22,CidrContains=0.0.0.0/0 (required)", false)
			maxInFlight := fs.Int("max-in-flight", 0, "most groups being changed at once (1-1000; 0: the server's default, 50)")
			canary := fs.Int("canary-size", 0, "groups changed first; all must succeed before the others start")
			maxFailures := fs.Int("max-failures", -1, "stop once more than this many groups failed (-1: no threshold)")
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
					Strategy:    &palisadev1.RolloutStrategy{MaxInFlight: int32(*maxInFlight), CanarySize: int32(*canary)},
					Remediation: &palisadev1.RolloutRemediation{Search: search, Action: palisadev1.RolloutRemediation_ACTION_REVOKE_MATCHING_RULES},
				}
				if *maxFailures >= 0 {
					req.Strategy.MaxFailures = proto.Int32(int32(*maxFailures))
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
				if err := e.printPlan(started.Proto); err != nil || e.g.json() {
					return err
				}
				ro := &palisadev1.Rollout{}
				if err := started.Proto.GetResponse().UnmarshalTo(ro); err != nil {
					return fmt.Errorf("read the plan: %w", err)
				}
				return writeLosses(e.stdout, ro.GetPlan())
			}
		},
	}
}

// writeLosses lists what each group of a remediation's plan loses.
func writeLosses(w io.Writer, plan *palisadev1.RolloutPlan) error {
	fmt.Fprintln(w)
	t := newTable(w, "ACCOUNT", "REGION", "GROUP ID", "LOSES RULE", "DIRECTION", "PROTOCOL", "PORTS", "PEER")
	for _, l := range plan.GetLocations() {
		for _, g := range l.GetGroupPlans() {
			for _, r := range g.GetLosses() {
				peer := r.GetCidrIpv4() + r.GetCidrIpv6() + r.GetPrefixListId() + r.GetReferencedGroupId()
				t.row(l.GetLocation().GetAccountId(), l.GetLocation().GetRegion(), g.GetGroupId(), r.GetSecurityGroupRuleId(),
					direction(r.GetIsEgress()), protocolText(r.GetIpProtocol()), portsText(r.GetFromPort(), r.GetToPort()), peer)
			}
		}
	}
	return t.flush()
}
