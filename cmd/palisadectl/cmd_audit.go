package main

import (
	"context"
	"flag"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/palisadehq/palisade/client"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func auditCommand() command {
	return command{
		name:    "audit",
		summary: "list the audit trail of policy decisions, or follow it (--follow)",
		setup: func(fs *flag.FlagSet) action {
			filter := fs.String("filter", "", "field=value terms joined by ' AND ' over caller, account_id, decision (allow or deny) and action (e.g. decision=deny AND account_id=111122223333)")
			follow := fs.Bool("follow", false, "after the records so far, print new ones as they are written, until interrupted")
			since := fs.Duration("since", 0, "with --follow: start this long ago instead of at the end of the trail")
			pageSize := fs.Int("page-size", 0, "records per call to the server (1-1000; 0: the server's default)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				f, err := parseAuditFilter(*filter)
				if err != nil {
					return err
				}
				if *since != 0 && !*follow {
					return usagef("--since goes with --follow")
				}
				if err := e.connect(); err != nil {
					return err
				}
				api := e.api
				if *follow {
					return e.followAudit(ctx, api, f, *since)
				}
				recs, err := allPages(func(token string) ([]*palisadev1.AuditRecord, string, error) {
					resp, err := api.ListAuditRecords(ctx, &palisadev1.ListAuditRecordsRequest{Filter: f, PageSize: int32(*pageSize), PageToken: token})
					return resp.GetRecords(), resp.GetNextPageToken(), err
				})
				if err != nil {
					return err
				}
				all := &palisadev1.ListAuditRecordsResponse{Records: recs}
				if e.g.json() {
					return writeJSON(e.stdout, all)
				}
				t := newTable(e.stdout, "TIME", "DECISION", "CALLER", "ACTION", "TARGET", "OPERATION", "POLICIES", "WHY")
				for _, r := range all.GetRecords() {
					auditRow(t, r)
				}
				return t.flush()
			}
		},
	}
}

// followAudit prints records as the server sends them: one JSON line
// each with --output json, else one table row each.
func (e *env) followAudit(ctx context.Context, api *client.Client, f *palisadev1.AuditFilter, since time.Duration) error {
	req := &palisadev1.WatchAuditRecordsRequest{Filter: f}
	if since > 0 {
		req.StartTime = timestamppb.New(time.Now().Add(-since))
	}
	stream, err := api.WatchAuditRecords(ctx, req)
	if err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: the way a follow ends
			}
			return err
		}
		if e.g.json() {
			if err := writeJSONLine(e.stdout, resp.GetRecord()); err != nil {
				return err
			}
			continue
		}
		t := newTable(e.stdout)
		auditRow(t, resp.GetRecord())
		if err := t.flush(); err != nil {
			return err
		}
	}
}

func auditRow(t *table, r *palisadev1.AuditRecord) {
	var targets []string
	for _, g := range r.GetGroups() {
		id := g.GetGroupId()
		if id == "" {
			id = g.GetGroupName()
		}
		targets = append(targets, g.GetAccountId()+"/"+g.GetRegion()+"/"+id)
	}
	var why []string
	for _, d := range r.GetDenials() {
		why = append(why, d.GetField()+": "+d.GetReason())
	}
	decision := strings.ToLower(strings.TrimPrefix(r.GetDecision().String(), "AUDIT_DECISION_"))
	if r.GetValidateOnly() {
		decision += " (validate-only)"
	}
	t.row(timeText(r.GetTime()), decision, r.GetCaller(), r.GetAction(), strings.Join(targets, ","), r.GetOperation(),
		strings.Join(r.GetPolicies(), ","), strings.Join(why, "; "))
}

// parseAuditFilter reads "field=value AND ..." over caller, account_id,
// decision and action.
func parseAuditFilter(s string) (*palisadev1.AuditFilter, error) {
	f := &palisadev1.AuditFilter{}
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	for _, term := range strings.Split(s, " AND ") {
		k, v, ok := strings.Cut(strings.TrimSpace(term), "=")
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`)
		if !ok || k == "" || v == "" {
			return nil, usagef("--filter: cannot read %q; write field=value terms joined by ' AND '", term)
		}
		switch k {
		case "caller":
			f.Caller = v
		case "account_id":
			f.AccountId = v
		case "action":
			f.Action = v
		case "decision":
			d, ok := palisadev1.AuditDecision_value["AUDIT_DECISION_"+strings.ToUpper(v)]
			if !ok || d == 0 {
				return nil, usagef("--filter: decision %q: want allow or deny", v)
			}
			f.Decision = palisadev1.AuditDecision(d)
		default:
			return nil, usagef("--filter: cannot filter on %q; use caller, account_id, decision or action", k)
		}
	}
	return f, nil
}
