// Package command is the one way a request becomes a stored command: what a
// command is (its kind, where it applies, the subject that orders it with
// the others on its group), how its operation is named (OperationID,
// ChildID), how a request is fingerprinted (RequestHash), and the write
// sequence that stores it (Submitter.Submit: publish with the operation id
// as message id, check a duplicate is the same request, then create or get
// its record). The API's accept, StartRollout and the rollout driver's
// children all go through Submit; a worker that meets a command without
// its record writes it with Submitter.EnsureRecord.
package command

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/operations"
)

// ErrorDomain names Palisade in google.rpc.ErrorInfo (AIP-193), for the
// reasons Palisade itself decides (as opposed to EC2's codes).
const ErrorDomain = "palisade.dev"

// MarkerTagKey tags every group Palisade creates with the id of the
// operation that created it, so a redelivered create recognises its own
// group (EC2's security-group calls take no client token). Callers may not
// set it.
const MarkerTagKey = "palisade:operation-id"

// Describe returns a command's kind, location and the group it touches
// ("" for a create, which has no id yet, and for a rollout, which spans
// many accounts and regions: its own record says which).
func Describe(cmd *palisadev1.Command) (palisadev1.OperationKind, *palisadev1.Location, string) {
	switch r := cmd.GetRequest().(type) {
	case *palisadev1.Command_CreateSecurityGroup:
		return palisadev1.OperationKind_OPERATION_KIND_CREATE_SECURITY_GROUP, r.CreateSecurityGroup.GetLocation(), ""
	case *palisadev1.Command_AuthorizeIngress:
		return palisadev1.OperationKind_OPERATION_KIND_AUTHORIZE_INGRESS, r.AuthorizeIngress.GetLocation(), r.AuthorizeIngress.GetGroupId()
	case *palisadev1.Command_AuthorizeEgress:
		return palisadev1.OperationKind_OPERATION_KIND_AUTHORIZE_EGRESS, r.AuthorizeEgress.GetLocation(), r.AuthorizeEgress.GetGroupId()
	case *palisadev1.Command_RevokeIngress:
		return palisadev1.OperationKind_OPERATION_KIND_REVOKE_INGRESS, r.RevokeIngress.GetLocation(), r.RevokeIngress.GetGroupId()
	case *palisadev1.Command_RevokeEgress:
		return palisadev1.OperationKind_OPERATION_KIND_REVOKE_EGRESS, r.RevokeEgress.GetLocation(), r.RevokeEgress.GetGroupId()
	case *palisadev1.Command_DeleteSecurityGroup:
		return palisadev1.OperationKind_OPERATION_KIND_DELETE_SECURITY_GROUP, r.DeleteSecurityGroup.GetLocation(), r.DeleteSecurityGroup.GetGroupId()
	case *palisadev1.Command_CreateTags:
		return palisadev1.OperationKind_OPERATION_KIND_CREATE_TAGS, r.CreateTags.GetLocation(), r.CreateTags.GetGroupId()
	case *palisadev1.Command_DeleteTags:
		return palisadev1.OperationKind_OPERATION_KIND_DELETE_TAGS, r.DeleteTags.GetLocation(), r.DeleteTags.GetGroupId()
	case *palisadev1.Command_ModifySecurityGroupRules:
		return palisadev1.OperationKind_OPERATION_KIND_MODIFY_SECURITY_GROUP_RULES, r.ModifySecurityGroupRules.GetLocation(), r.ModifySecurityGroupRules.GetGroupId()
	case *palisadev1.Command_UpdateDescriptionsIngress:
		return palisadev1.OperationKind_OPERATION_KIND_UPDATE_DESCRIPTIONS_INGRESS, r.UpdateDescriptionsIngress.GetLocation(), r.UpdateDescriptionsIngress.GetGroupId()
	case *palisadev1.Command_UpdateDescriptionsEgress:
		return palisadev1.OperationKind_OPERATION_KIND_UPDATE_DESCRIPTIONS_EGRESS, r.UpdateDescriptionsEgress.GetLocation(), r.UpdateDescriptionsEgress.GetGroupId()
	case *palisadev1.Command_StartRollout:
		return palisadev1.OperationKind_OPERATION_KIND_ROLLOUT, nil, ""
	case *palisadev1.Command_ApplyRuleChange:
		return palisadev1.OperationKind_OPERATION_KIND_APPLY_RULE_CHANGE, r.ApplyRuleChange.GetLocation(), r.ApplyRuleChange.GetGroupId()
	}
	return palisadev1.OperationKind_OPERATION_KIND_UNSPECIFIED, nil, ""
}

// RolloutOf names the rollout a command is ("rollouts/<id>") or belongs
// to, or returns "".
func RolloutOf(cmd *palisadev1.Command) string {
	switch r := cmd.GetRequest().(type) {
	case *palisadev1.Command_StartRollout:
		return operations.RolloutNamePrefix + cmd.GetOperationId()
	case *palisadev1.Command_ApplyRuleChange:
		return r.ApplyRuleChange.GetRollout()
	}
	return ""
}

// Destination returns the stream a command is stored on and its subject
// there. A rollout goes to the rollout stream, where one driver at a time
// holds it; every other command goes to its group's subject, which orders
// it with every other change to that group.
func Destination(cmd *palisadev1.Command) (stream, subject string) {
	kind, loc, group := Describe(cmd)
	switch kind {
	case palisadev1.OperationKind_OPERATION_KIND_ROLLOUT:
		return bus.RolloutStream, bus.RolloutSubject(cmd.GetOperationId())
	case palisadev1.OperationKind_OPERATION_KIND_CREATE_SECURITY_GROUP:
		// A create has no group id yet: its key comes from the name, which
		// EC2 makes unique per VPC.
		c := cmd.GetCreateSecurityGroup()
		sum := sha256.Sum256([]byte(c.GetVpcId() + "\x00" + GroupNameKey(c.GetGroupName())))
		group = "new-" + hex.EncodeToString(sum[:8])
	}
	return bus.CommandStream, bus.CommandSubject(loc.GetAccountId(), loc.GetRegion(), group)
}

// GroupNameKey is a group name as EC2 compares names within a VPC:
// case-insensitively and without trailing spaces.
func GroupNameKey(name string) string {
	return strings.ToLower(strings.TrimRight(name, " "))
}

// OperationID derives the id from the caller and request_id, so that the
// same request from the same caller always lands on the same record; with
// no request_id every request gets a fresh id.
func OperationID(caller, requestID string) string {
	if requestID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	sum := sha256.Sum256([]byte(caller + "\x00" + strings.ToLower(requestID)))
	return hex.EncodeToString(sum[:16])
}

// ChildID is the operation id of a rollout's child for one group. It is
// derived, not random, so a driver that restarts re-publishes a child under
// the same id and JetStream (and the operation record) de-duplicate it.
func ChildID(rolloutID, account, region, groupID string) string {
	sum := sha256.Sum256([]byte(rolloutID + "\x00" + account + "\x00" + region + "\x00" + groupID))
	return hex.EncodeToString(sum[:16])
}

// RequestHash fingerprints a request without its idempotency fields; a
// retried request has the same hash, a different one under the same
// request_id does not.
func RequestHash(req proto.Message) ([]byte, error) {
	c := proto.Clone(req)
	m := c.ProtoReflect()
	for _, name := range []string{"request_id", "validate_only"} {
		if fd := m.Descriptor().Fields().ByName(protoreflect.Name(name)); fd != nil {
			m.Clear(fd)
		}
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}
