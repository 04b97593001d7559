package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func searchCommand() command {
	return command{
		name:    "search",
		summary: "search many accounts and regions at once for groups matching filters and rule predicates",
		setup: func(fs *flag.FlagSet) action {
			targets := listVar(fs, "targets", "ACCOUNT/REGION pairs, e.g. 111122223333/us-east-1 (default: --account-id and --region)", true)
			accounts := listVar(fs, "accounts", "accounts to search in every one of --regions (instead of --targets)", true)
			regions := listVar(fs, "regions", "regions to search in every one of --accounts", true)
			filters := listVar(fs, "filters", "EC2's filters, as for describe-security-groups", false)
			preds := listVar(fs, "rule", "a rule predicate every matching group must satisfy with some rule: "+
				"Direction=ingress|egress,Protocol=tcp,Port=22,CidrContains=0.0.0.0/0,ReferencesOtherAccount=true (any subset)", false)
			without := fs.Bool("without-rules", false, "only groups with no rules left in either direction")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				req := &palisadev1.SearchSecurityGroupsRequest{WithoutRules: *without}
				var err error
				if req.Targets, err = searchTargets(e, targets.values, accounts.values, regions.values); err != nil {
					return err
				}
				if req.Filters, err = protoFilters(filters.values); err != nil {
					return err
				}
				if req.RulePredicates, err = parsePredicates(preds.values); err != nil {
					return err
				}
				if err := e.connect(); err != nil {
					return err
				}
				stream, err := e.api.SearchSecurityGroups(ctx, req)
				if err != nil {
					return err
				}
				return writeSearch(e, stream.Recv)
			}
		},
	}
}

// searchTargets reads where a search looks: --targets pairs, or every
// one of --regions in every one of --accounts; none means the global
// --account-id and --region.
func searchTargets(e *env, targets, accounts, regions []string) ([]*palisadev1.Location, error) {
	if len(accounts) == 0 && len(regions) == 0 {
		return rolloutLocations(e, targets)
	}
	if len(targets) > 0 || len(accounts) == 0 || len(regions) == 0 {
		return nil, usagef("give --accounts with --regions, or --targets")
	}
	var out []*palisadev1.Location
	for _, a := range accounts {
		for _, r := range regions {
			out = append(out, &palisadev1.Location{AccountId: a, Region: r})
		}
	}
	return out, nil
}

// writeSearch prints answers as they arrive: one JSON line each with
// --output json, else one table line per matching rule (or per group when
// no predicate was given). A target that could not be read is reported on
// standard error and makes the command fail once every answer is in.
func writeSearch(e *env, recv func() (*palisadev1.SearchSecurityGroupsResponse, error)) error {
	var failed []string
	t := newTable(e.stdout, "ACCOUNT", "REGION", "GROUP ID", "NAME", "RULE ID", "DIRECTION", "PROTOCOL", "PORTS", "PEER")
	for {
		res, err := recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		loc := res.GetLocation()
		if res.GetError() != nil {
			failed = append(failed, loc.GetAccountId()+"/"+loc.GetRegion())
			fmt.Fprintf(e.stderr, "palisadectl: %s/%s: %s\n", loc.GetAccountId(), loc.GetRegion(), status.FromProto(res.GetError()).Message())
			continue
		}
		if e.g.json() {
			if err := writeJSONLine(e.stdout, res); err != nil {
				return err
			}
			continue
		}
		g := res.GetSecurityGroup()
		if len(res.GetMatchingRules()) == 0 {
			t.row(loc.GetAccountId(), loc.GetRegion(), g.GetGroupId(), g.GetGroupName(), "", "", "", "", "")
		}
		for _, r := range res.GetMatchingRules() {
			peer := r.GetCidrIpv4() + r.GetCidrIpv6() + r.GetPrefixListId() + r.GetReferencedGroupId()
			t.row(loc.GetAccountId(), loc.GetRegion(), g.GetGroupId(), g.GetGroupName(), r.GetSecurityGroupRuleId(),
				direction(r.GetIsEgress()), protocolText(r.GetIpProtocol()), portsText(r.GetFromPort(), r.GetToPort()), peer)
		}
	}
	if !e.g.json() {
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d targets could not be searched: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// parsePredicates reads --rule values.
func parsePredicates(values []string) ([]*palisadev1.RulePredicate, error) {
	ms, err := structures("rule", values)
	if err != nil {
		return nil, err
	}
	out := make([]*palisadev1.RulePredicate, 0, len(ms))
	for i, m := range ms {
		path := fmt.Sprintf("--rule value %d", i+1)
		p := &palisadev1.RulePredicate{}
		for _, k := range sortedKeys(m) {
			v := fmt.Sprint(m[k])
			switch k {
			case "Direction":
				switch v {
				case "ingress":
					p.Direction = palisadev1.RulePredicate_DIRECTION_INGRESS
				case "egress":
					p.Direction = palisadev1.RulePredicate_DIRECTION_EGRESS
				default:
					return nil, usagef("%s: Direction %q: write ingress or egress", path, v)
				}
			case "Protocol":
				p.Protocol = v
			case "Port":
				n, err := strconv.ParseInt(v, 10, 32)
				if err != nil {
					return nil, usagef("%s: Port %q is not a number", path, v)
				}
				port := int32(n)
				p.Port = &port
			case "CidrContains":
				p.CidrContains = v
			case "ReferencesOtherAccount":
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, usagef("%s: ReferencesOtherAccount %q: write true or false", path, v)
				}
				p.ReferencesOtherAccount = b
			default:
				return nil, usagef("%s: unknown key %q; valid keys are CidrContains, Direction, Port, Protocol, ReferencesOtherAccount", path, k)
			}
		}
		out = append(out, p)
	}
	return out, nil
}
