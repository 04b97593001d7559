package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// rolloutGroup is the first word of the rollout commands.
const rolloutGroup = "rollout"

// rolloutName accepts "rollouts/<id>" or the bare id.
func rolloutName(args []string) (string, error) {
	if len(args) != 1 {
		return "", usagef("give one rollout: rollouts/<id> or its id")
	}
	if strings.HasPrefix(args[0], "rollouts/") {
		return args[0], nil
	}
	return "rollouts/" + strings.TrimPrefix(args[0], "operations/"), nil
}

// rolloutStrategyFlags are the flags of a rollout's strategy, shared by
// the commands that start one.
type rolloutStrategyFlags struct {
	maxInFlight, canary, maxFailures *int
}

// strategyFlags defines the strategy flags on fs. With inherit, their
// defaults are the strategy of the rollout the new one derives from.
func strategyFlags(fs *flag.FlagSet, inherit bool) rolloutStrategyFlags {
	inFlight := "most groups being changed at once (1-1000; 0: the server's default, 50)"
	canary := "groups changed first; all must succeed before the others start"
	failures := "stop once more than this many groups failed (-1: no threshold)"
	if inherit {
		inFlight = "most groups being changed at once (default: the rolled-back rollout's)"
		canary = "groups changed first (default: the rolled-back rollout's)"
		failures = "stop once more than this many groups failed (default: the rolled-back rollout's)"
	}
	return rolloutStrategyFlags{
		maxInFlight: fs.Int("max-in-flight", 0, inFlight),
		canary:      fs.Int("canary-size", 0, canary),
		maxFailures: fs.Int("max-failures", -1, failures),
	}
}

// set says whether any strategy flag was given.
func (f rolloutStrategyFlags) set() bool {
	return *f.maxInFlight != 0 || *f.canary != 0 || *f.maxFailures >= 0
}

// get is the strategy the flags give.
func (f rolloutStrategyFlags) get() *palisadev1.RolloutStrategy {
	st := &palisadev1.RolloutStrategy{MaxInFlight: int32(*f.maxInFlight), CanarySize: int32(*f.canary)}
	if *f.maxFailures >= 0 {
		st.MaxFailures = proto.Int32(int32(*f.maxFailures))
	}
	return st
}

func rolloutStartCommand() command {
	return command{
		name:     rolloutGroup + " start",
		summary:  "roll one rule change out to many groups across accounts and regions (--wait: follow it with a progress bar)",
		mutating: true,
		setup: func(fs *flag.FlagSet) action {
			authIn := listVar(fs, "authorize-ingress", "inbound rules to add: AWS CLI shorthand or JSON, as --ip-permissions", false)
			authOut := listVar(fs, "authorize-egress", "outbound rules to add", false)
			revIn := listVar(fs, "revoke-ingress", "inbound rules to remove (after the additions)", false)
			revOut := listVar(fs, "revoke-egress", "outbound rules to remove (after the additions)", false)
			targets := listVar(fs, "targets", "ACCOUNT/REGION pairs, e.g. 111122223333/us-east-1 (default: --account-id and --region)", true)
			groupIDs := listVar(fs, "group-ids", "the groups (sg-…) in every target, instead of --tags", true)
			tags := listVar(fs, "tags", "select the groups carrying every one of these tags: Key=team,Value=payments or team=payments", false)
			vpcID := fs.String("vpc-id", "", "only groups in this VPC")
			strategy := strategyFlags(fs, false)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				change := &palisadev1.RuleChange{}
				for _, p := range []struct {
					flag string
					vals *listFlag
					dst  *[]*palisadev1.IpPermission
				}{
					{"authorize-ingress", authIn, &change.AuthorizeIngress}, {"authorize-egress", authOut, &change.AuthorizeEgress},
					{"revoke-ingress", revIn, &change.RevokeIngress}, {"revoke-egress", revOut, &change.RevokeEgress},
				} {
					if len(p.vals.values) == 0 {
						continue
					}
					perms, err := parsePermissions(p.flag, p.vals.values, e.stdin)
					if err != nil {
						return err
					}
					*p.dst = perms
				}
				selector, err := rolloutSelector(groupIDs.values, tags.values, *vpcID)
				if err != nil {
					return err
				}
				locs, err := rolloutLocations(e, targets.values)
				if err != nil {
					return err
				}
				req := &palisadev1.StartRolloutRequest{
					RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Change: change,
					Strategy: strategy.get(),
				}
				for _, l := range locs {
					t := &palisadev1.RolloutTarget{Location: l, GroupIds: selector.GetGroupIds(), Tags: selector.GetTags(), VpcId: selector.GetVpcId()}
					req.Targets = append(req.Targets, t)
				}
				if err := e.connect(); err != nil {
					return err
				}
				e.verbosef("request id: %s", e.m.requestID)
				started, err := e.api.StartRollout(ctx, req)
				if err != nil {
					return err
				}
				if e.m.validateOnly {
					return e.printPlan(started.Proto)
				}
				return e.followStarted(ctx, started.Proto)
			}
		},
	}
}

// followStarted prints a started rollout's name, or its operation as
// JSON, or with --wait follows it to its end.
func (e *env) followStarted(ctx context.Context, op *longrunningpb.Operation) error {
	md, err := metadataOf(op)
	if err != nil {
		return err
	}
	if !e.m.wait {
		if e.g.json() {
			return writeJSON(e.stdout, op)
		}
		_, err := fmt.Fprintln(e.stdout, md.GetRollout())
		return err
	}
	return e.watchRollout(ctx, md.GetRollout())
}

// rolloutSelector builds what selects the groups in each target.
func rolloutSelector(ids, tagValues []string, vpcID string) (*palisadev1.RolloutTarget, error) {
	t := &palisadev1.RolloutTarget{GroupIds: ids, VpcId: vpcID}
	if len(tagValues) > 0 {
		tags, err := parseFilterTags(tagValues)
		if err != nil {
			return nil, err
		}
		t.Tags = tags
	}
	switch {
	case len(ids) == 0 && len(t.Tags) == 0:
		return nil, usagef("select the groups with --group-ids or --tags")
	case len(ids) > 0 && len(t.Tags) > 0:
		return nil, usagef("give either --group-ids or --tags, not both")
	}
	return t, nil
}

// parseFilterTags reads tags as the AWS CLI writes them (Key=k,Value=v)
// or as k=v.
func parseFilterTags(values []string) (map[string]string, error) {
	var shorthand, plain []string
	for _, v := range values {
		if strings.HasPrefix(v, "Key=") || strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{") {
			shorthand = append(shorthand, v)
		} else {
			plain = append(plain, strings.Split(v, ",")...)
		}
	}
	tags := map[string]string{}
	if len(shorthand) > 0 {
		var err error
		if tags, err = parseTags(shorthand); err != nil {
			return nil, err
		}
	}
	for _, kv := range plain {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--tags %q: write Key=k,Value=v or k=v", kv)
		}
		tags[k] = v
	}
	return tags, nil
}

// rolloutLocations reads ACCOUNT/REGION pairs; none means the global
// --account-id and --region.
func rolloutLocations(e *env, values []string) ([]*palisadev1.Location, error) {
	if len(values) == 0 {
		return []*palisadev1.Location{e.g.location()}, nil
	}
	var out []*palisadev1.Location
	for _, v := range values {
		acct, reg, ok := strings.Cut(v, "/")
		if !ok || acct == "" || reg == "" {
			return nil, usagef("--targets %q: write ACCOUNT/REGION, e.g. 111122223333/us-east-1", v)
		}
		out = append(out, &palisadev1.Location{AccountId: acct, Region: reg})
	}
	return out, nil
}

func rolloutGetCommand() command {
	return command{
		name:    rolloutGroup + " get",
		args:    "<name|id>",
		summary: "show a rollout: its state, progress, plan and failures",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, e *env, args []string) error {
				name, err := rolloutName(args)
				if err != nil {
					return err
				}
				if err := e.connect(); err != nil {
					return err
				}
				ro, err := e.api.GetRollout(ctx, &palisadev1.GetRolloutRequest{Name: name})
				if err != nil {
					return err
				}
				if e.g.json() {
					return writeJSON(e.stdout, ro)
				}
				return writeRollout(e.stdout, ro)
			}
		},
	}
}

func rolloutListCommand() command {
	return command{
		name:    rolloutGroup + " list",
		summary: "list your rollouts, every page",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if err := e.connect(); err != nil {
					return err
				}
				ros, err := allPages(func(token string) ([]*palisadev1.Rollout, string, error) {
					resp, err := e.api.ListRollouts(ctx, &palisadev1.ListRolloutsRequest{PageToken: token})
					return resp.GetRollouts(), resp.GetNextPageToken(), err
				})
				if err != nil {
					return err
				}
				all := &palisadev1.ListRolloutsResponse{Rollouts: ros}
				if e.g.json() {
					return writeJSON(e.stdout, all)
				}
				t := newTable(e.stdout, "NAME", "STATE", "GROUPS", "SUCCEEDED", "FAILED", "UPDATED")
				for _, ro := range all.GetRollouts() {
					p := ro.GetProgress()
					t.row(ro.GetName(), rolloutStateName(ro.GetState()), fmt.Sprint(p.GetTotalGroups()),
						fmt.Sprint(p.GetSucceeded()), fmt.Sprint(p.GetFailed()), timeText(ro.GetUpdateTime()))
				}
				return t.flush()
			}
		},
	}
}

func rolloutWatchCommand() command {
	return command{
		name:    rolloutGroup + " watch",
		args:    "<name|id>",
		summary: "follow a rollout until it ends: a progress bar on a terminal, one line per change otherwise (exit 0 if it succeeded, 3 if not)",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, e *env, args []string) error {
				name, err := rolloutName(args)
				if err != nil {
					return err
				}
				if err := e.connect(); err != nil {
					return err
				}
				return e.watchRollout(ctx, name)
			}
		},
	}
}

func rolloutControlCommand(verb string) command {
	summaries := map[string]string{
		"pause":  "stop starting groups; started ones finish",
		"resume": "resume a paused rollout",
		"cancel": "cancel a rollout: groups not started never are, started ones finish",
	}
	return command{
		name:    rolloutGroup + " " + verb,
		args:    "<name|id>",
		summary: summaries[verb],
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, e *env, args []string) error {
				name, err := rolloutName(args)
				if err != nil {
					return err
				}
				if err := e.connect(); err != nil {
					return err
				}
				var ro *palisadev1.Rollout
				switch verb {
				case "pause":
					ro, err = e.api.PauseRollout(ctx, &palisadev1.PauseRolloutRequest{Name: name})
				case "resume":
					ro, err = e.api.ResumeRollout(ctx, &palisadev1.ResumeRolloutRequest{Name: name})
				default:
					ro, err = e.api.CancelRollout(ctx, &palisadev1.CancelRolloutRequest{Name: name})
				}
				if err != nil {
					return err
				}
				if e.g.json() {
					return writeJSON(e.stdout, ro)
				}
				_, err = fmt.Fprintf(e.stdout, "%s: %s requested\n", ro.GetName(), verb)
				return err
			}
		},
	}
}

// printPlan prints a validate_only answer.
func (e *env) printPlan(op *longrunningpb.Operation) error {
	if e.g.json() {
		return writeJSON(e.stdout, op)
	}
	ro := &palisadev1.Rollout{}
	if err := op.GetResponse().UnmarshalTo(ro); err != nil {
		return fmt.Errorf("read the plan: %w", err)
	}
	return writePlan(e.stdout, ro)
}
