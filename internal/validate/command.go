package validate

import (
	"strings"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/rules"
)

// MaxCallerLen bounds the caller a command names (a SPIFFE id or a
// certificate's name).
const MaxCallerLen = 2048

// Command checks a command as a worker consumes it: its request with the
// check the API ran on it, and what the API adds: an operation id of the
// shape Palisade issues, a caller, a kind of request, and for a rollout's
// child the rollout it belongs to. Field paths are those of the request,
// as the API would name them; the command's own fields are operation_id,
// caller and request.
//
// reserved reports that the request sets tags only AWS or Palisade may
// set (aws:..., the marker tag): not a mistake a caller of the API can
// make, since the API refuses them, but a command forged to look like
// Palisade's own work, which deserves PERMISSION_DENIED.
func Command(cmd *palisadev1.Command) (v rules.Violations, reserved bool) {
	if !operations.ValidID(cmd.GetOperationId()) {
		v = append(v, rules.Violation{Field: "operation_id", Description: "the operation id is not one Palisade issues (32 lower-case hex digits)"})
	}
	switch c := cmd.GetCaller(); {
	case c == "":
		v = append(v, rules.Violation{Field: "caller", Description: "the command names no caller"})
	case len(c) > MaxCallerLen:
		v = append(v, rules.Violation{Field: "caller", Description: "the caller is longer than any identity Palisade accepts"})
	}
	switch r := cmd.GetRequest().(type) {
	case *palisadev1.Command_CreateSecurityGroup:
		v = append(v, Create(r.CreateSecurityGroup)...)
		reserved = reservedTags(r.CreateSecurityGroup.GetTags())
	case *palisadev1.Command_AuthorizeIngress:
		v = append(v, Authorize(r.AuthorizeIngress, rules.Ingress)...)
	case *palisadev1.Command_AuthorizeEgress:
		v = append(v, Authorize(r.AuthorizeEgress, rules.Egress)...)
	case *palisadev1.Command_RevokeIngress:
		v = append(v, Revoke(r.RevokeIngress, rules.Ingress)...)
	case *palisadev1.Command_RevokeEgress:
		v = append(v, Revoke(r.RevokeEgress, rules.Egress)...)
	case *palisadev1.Command_DeleteSecurityGroup:
		v = append(v, Group(r.DeleteSecurityGroup)...)
	case *palisadev1.Command_StartRollout:
		v = append(v, StartRollout(r.StartRollout)...)
	case *palisadev1.Command_ApplyRuleChange:
		v = append(v, ApplyRuleChange(r.ApplyRuleChange)...)
	case *palisadev1.Command_CreateTags:
		v = append(v, CreateTags(r.CreateTags)...)
		reserved = reservedTags(r.CreateTags.GetTags())
	case *palisadev1.Command_DeleteTags:
		v = append(v, DeleteTags(r.DeleteTags)...)
		reserved = reservedTags(r.DeleteTags.GetTags()) || reservedTagKeys(r.DeleteTags.GetTagKeys())
	case *palisadev1.Command_ModifySecurityGroupRules:
		v = append(v, ModifySecurityGroupRules(r.ModifySecurityGroupRules)...)
	case *palisadev1.Command_UpdateDescriptionsIngress:
		v = append(v, UpdateDescriptions(r.UpdateDescriptionsIngress, rules.Ingress)...)
	case *palisadev1.Command_UpdateDescriptionsEgress:
		v = append(v, UpdateDescriptions(r.UpdateDescriptionsEgress, rules.Egress)...)
	default:
		v = append(v, rules.Violation{Field: "request", Description: "the command carries no request of a kind Palisade knows"})
	}
	return v.Capped(), reserved
}

// ApplyRuleChange checks a rollout's child: where, which group, a valid
// change, and the rollout it belongs to.
func ApplyRuleChange(a *palisadev1.ApplyRuleChange) rules.Violations {
	v := Location(a.GetLocation())
	v = append(v, rules.ValidateGroupID("group_id", a.GetGroupId())...)
	if a.GetChange() == nil {
		v = append(v, rules.Violation{Field: "change", Description: "change is required"})
	} else {
		v = append(v, Change("change", a.GetChange())...)
	}
	if _, ok := operations.RolloutIDFromName(a.GetRollout()); !ok {
		v = append(v, rules.Violation{Field: "rollout", Description: "a rule change names the rollout it belongs to: rollouts/<id>, the id 32 lower-case hex digits"})
	}
	return v.Capped()
}

// reservedTags reports a tag key only AWS or Palisade may set.
func reservedTags(tags map[string]string) bool {
	if _, ok := tags[command.MarkerTagKey]; ok {
		return true
	}
	for k := range tags {
		if len(k) >= 4 && strings.EqualFold(k[:4], "aws:") {
			return true
		}
	}
	return false
}
