package policy

import (
	"fmt"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/palisadehq/palisade/internal/rules"
)

// Actions, as the schema declares them: one per call that changes or
// reads groups, and ReadAllOperations for seeing other callers' work.
const (
	CreateSecurityGroup           = "CreateSecurityGroup"
	AuthorizeSecurityGroupIngress = "AuthorizeSecurityGroupIngress"
	AuthorizeSecurityGroupEgress  = "AuthorizeSecurityGroupEgress"
	RevokeSecurityGroupIngress    = "RevokeSecurityGroupIngress"
	RevokeSecurityGroupEgress     = "RevokeSecurityGroupEgress"
	DeleteSecurityGroup           = "DeleteSecurityGroup"
	StartRollout                  = "StartRollout"
	GetSecurityGroup              = "GetSecurityGroup"
	ListSecurityGroups            = "ListSecurityGroups"
	ListSecurityGroupRules        = "ListSecurityGroupRules"
	CreateTags                    = "CreateTags"
	DeleteTags                    = "DeleteTags"
	ModifySecurityGroupRules      = "ModifySecurityGroupRules"
	SearchSecurityGroups          = "SearchSecurityGroups"
	RollbackRollout               = "RollbackRollout"
	UpdateRuleDescriptionsIngress = "UpdateSecurityGroupRuleDescriptionsIngress"
	UpdateRuleDescriptionsEgress  = "UpdateSecurityGroupRuleDescriptionsEgress"
	CancelOperation               = "CancelOperation"
	ReadAllOperations             = "ReadAllOperations"
	ReadAudit                     = "ReadAudit"
)

const (
	callerType  = cedar.EntityType("Palisade::Caller")
	teamType    = cedar.EntityType("Palisade::Team")
	accountType = cedar.EntityType("Palisade::Account")
	groupType   = cedar.EntityType("Palisade::SecurityGroup")
	serviceType = cedar.EntityType("Palisade::Service")
	actionType  = cedar.EntityType("Palisade::Action")
)

// Group is the security group a call is about.
type Group struct {
	AccountID, Region, VpcID string
	// GroupID is "" for a create and for a rollout target chosen by tags.
	GroupID string
	// Name is a create's group name.
	Name string
	// Tags are the create's tags, a rollout selector's tags, or an
	// existing group's tags as EC2 holds them (when the policy reads
	// tags).
	Tags map[string]string
}

// Change says what a call does with a rule.
type Change string

// The changes a call makes to a rule.
const (
	Add    Change = "add"
	Remove Change = "remove"
	// Describe changes only a rule's description.
	Describe Change = "describe"
)

// Rule is one rule a call adds or removes.
type Rule struct {
	// Field is the request field the rule came from, which a denial names.
	Field  string
	Change Change
	rules.Rule
}

// RuleID is one rule a call revokes by its sgr- id.
type RuleID struct {
	Field string
	ID    string
}

// Check is one call to decide.
type Check struct {
	Caller string
	Action string
	// Group is what the call is about; nil for ReadAllOperations.
	Group   *Group
	Rules   []Rule
	RuleIDs []RuleID
}

// Decision is the policy's answer to a Check.
type Decision struct {
	Allowed bool
	// Policies are the policies that decided, sorted: the permits that
	// allowed every part, or the forbids that denied some part.
	Policies []string
	// Denied lists each part that was denied.
	Denied []Denial
	// Version is the fingerprint of the policy that decided.
	Version string
}

// Denial is one denied part of a call: a rule (by its field path), a rule
// id, or the call itself (Field "").
type Denial struct {
	Field string
	// What describes the part, e.g. "ingress tcp 22-22 from 0.0.0.0/0".
	What string
	// Policies are the forbids that matched; none when nothing permitted
	// the part.
	Policies []string
	// Errors are evaluation errors, which count as a deny.
	Errors []string
}

// Reason says in one sentence why the part was denied.
func (d Denial) Reason() string {
	switch {
	case len(d.Errors) > 0:
		return "the policy could not be evaluated: " + strings.Join(d.Errors, "; ")
	case len(d.Policies) > 0:
		return "forbidden by policy " + strings.Join(d.Policies, ", ")
	}
	return "no policy permits it"
}

// Decide evaluates c: one Cedar request per rule, per rule id, or one for
// a call that names neither.
func (s *Set) Decide(c Check) Decision {
	entities, principal := s.callEntities(c)
	resource := cedar.NewEntityUID(serviceType, "palisade")
	if c.Group != nil {
		g := groupEntity(*c.Group)
		entities.call[g.UID] = g
		resource = g.UID
	}
	type part struct {
		field string
		what  func() string // described only when denied
		ctx   cedar.Record
		err   error
	}
	var parts []part
	for _, r := range c.Rules {
		rec, err := ruleRecord(r)
		parts = append(parts, part{r.Field, func() string { return string(r.Change) + " " + r.Rule.String() }, cedar.NewRecord(cedar.RecordMap{"rule": rec}), err})
	}
	for _, id := range c.RuleIDs {
		parts = append(parts, part{field: id.Field, what: func() string { return ruleIDWhat(c.Action, id.ID) }, ctx: cedar.NewRecord(cedar.RecordMap{"ruleId": cedar.String(id.ID)})})
	}
	if len(parts) == 0 {
		parts = append(parts, part{what: func() string { return c.Action }, ctx: cedar.NewRecord(nil)})
	}
	d := Decision{Allowed: true, Version: s.version}
	var permits, forbids []cedar.DiagnosticReason
	action := cedar.NewEntityUID(actionType, cedar.String(c.Action))
	// The statements that do not read the context, once for the call.
	callReq := cedar.Request{Principal: principal, Action: action, Resource: resource, Context: parts[0].ctx}
	callDec, callDiag := cedar.Authorize(s.perCall, entities, callReq)
	for _, p := range parts {
		if p.err != nil {
			d.Allowed = false
			d.Denied = append(d.Denied, Denial{Field: p.field, What: p.what(), Errors: []string{p.err.Error()}})
			continue
		}
		req := cedar.Request{Principal: principal, Action: action, Resource: resource, Context: p.ctx}
		if err := s.validator.Request(req); err != nil {
			d.Allowed = false
			d.Denied = append(d.Denied, Denial{Field: p.field, What: p.what(), Errors: []string{"the request does not fit the schema: " + err.Error()}})
			continue
		}
		dec, diag := cedar.Authorize(s.perPart, entities, req)
		// Cedar's rule over both halves: any satisfied forbid denies;
		// otherwise any satisfied permit allows; otherwise deny. A
		// denying half lists its satisfied forbids (none when nothing
		// permitted), an allowing half its satisfied permits.
		var partForbids, partPermits []cedar.DiagnosticReason
		for _, h := range []struct {
			dec  cedar.Decision
			diag cedar.Diagnostic
		}{{callDec, callDiag}, {dec, diag}} {
			if h.dec == cedar.Deny {
				partForbids = append(partForbids, h.diag.Reasons...)
			} else {
				partPermits = append(partPermits, h.diag.Reasons...)
			}
		}
		errs := append(append([]cedar.DiagnosticError(nil), callDiag.Errors...), diag.Errors...)
		if len(partForbids) == 0 && len(partPermits) > 0 && len(errs) == 0 {
			permits = append(permits, partPermits...)
			continue
		}
		d.Allowed = false
		den := Denial{Field: p.field, What: p.what()}
		den.Policies = sortedIDs(partForbids, func(r cedar.DiagnosticReason) cedar.PolicyID { return r.PolicyID })
		forbids = append(forbids, partForbids...)
		for _, e := range errs {
			den.Errors = append(den.Errors, fmt.Sprintf("policy %s: %s", e.PolicyID, e.Message))
		}
		d.Denied = append(d.Denied, den)
	}
	if d.Allowed {
		d.Policies = sortedIDs(permits, func(r cedar.DiagnosticReason) cedar.PolicyID { return r.PolicyID })
	} else {
		d.Policies = sortedIDs(forbids, func(r cedar.DiagnosticReason) cedar.PolicyID { return r.PolicyID })
	}
	return d
}

// layered looks entities up in the call's own first, then in the
// policy's entities file.
type layered struct {
	call cedar.EntityMap
	base cedar.EntityMap
}

func (l layered) Get(uid cedar.EntityUID) (cedar.Entity, bool) {
	if e, ok := l.call[uid]; ok {
		return e, true
	}
	return l.base.Get(uid)
}

// callEntities builds the caller's entity: its attributes from its
// identity, its teams from the entities file (never from the certificate).
func (s *Set) callEntities(c Check) (layered, cedar.EntityUID) {
	uid := cedar.NewEntityUID(callerType, cedar.String(c.Caller))
	td, path := spiffeParts(c.Caller)
	caller := cedar.Entity{UID: uid, Attributes: cedar.NewRecord(cedar.RecordMap{
		"trustDomain": cedar.String(td), "path": cedar.String(path),
	})}
	if known, ok := s.entities[uid]; ok {
		caller.Parents = known.Parents
	}
	return layered{call: cedar.EntityMap{uid: caller}, base: s.entities}, uid
}

// spiffeParts splits a SPIFFE ID into trust domain and path; an identity
// that is not one has neither. The interceptor has validated the ID.
func spiffeParts(id string) (string, string) {
	rest, ok := strings.CutPrefix(id, "spiffe://")
	if !ok {
		return "", ""
	}
	td, path, _ := strings.Cut(rest, "/")
	if path != "" {
		path = "/" + path
	}
	return td, path
}

func groupEntity(g Group) cedar.Entity {
	id := g.AccountID + "/" + g.Region + "/"
	switch {
	case g.GroupID != "":
		id += g.GroupID
	case g.Name != "":
		id += "new:" + g.Name
	default:
		id += "selected"
	}
	tags := cedar.RecordMap{}
	for k, v := range g.Tags {
		tags[cedar.String(k)] = cedar.String(v)
	}
	return cedar.Entity{
		UID:     cedar.NewEntityUID(groupType, cedar.String(id)),
		Parents: cedar.NewEntityUIDSet(cedar.NewEntityUID(accountType, cedar.String(g.AccountID))),
		Attributes: cedar.NewRecord(cedar.RecordMap{
			"accountId": cedar.String(g.AccountID), "region": cedar.String(g.Region), "vpcId": cedar.String(g.VpcID),
			"groupId": cedar.String(g.GroupID), "name": cedar.String(g.Name),
		}),
		Tags: cedar.NewRecord(tags),
	}
}

// ruleRecord is the Cedar form of one rule (the schema's Rule type). A
// peer Cedar cannot represent is an error, and the part is denied: leaving
// it out would let every has-guarded guardrail pass it.
func ruleRecord(r Rule) (cedar.Record, error) {
	from, to := int64(r.FromPort), int64(r.ToPort)
	if r.Protocol != "icmp" && r.Protocol != "icmpv6" && from == -1 && to == -1 {
		// All protocols, or one without ports: every port.
		from, to = 0, 65535
	}
	m := cedar.RecordMap{
		"direction":   cedar.String(r.Direction.String()),
		"change":      cedar.String(r.Change),
		"protocol":    cedar.String(r.Protocol),
		"fromPort":    cedar.Long(from),
		"toPort":      cedar.Long(to),
		"description": cedar.String(r.Description),
	}
	switch r.Kind {
	case rules.SourceIPv4, rules.SourceIPv6:
		m["peerKind"] = cedar.String(r.Kind.String())
		// The rule model keeps CIDRs canonical (host bits cleared), as
		// Cedar's == on ip values needs.
		ip, err := types.ParseIPAddr(r.Source)
		if err != nil {
			return cedar.Record{}, fmt.Errorf("peer %q cannot be evaluated: %w", r.Source, err)
		}
		m["cidr"] = ip
	case rules.SourcePrefixList:
		m["peerKind"] = cedar.String("prefixList")
		m["prefixListId"] = cedar.String(r.Source)
	default:
		m["peerKind"] = cedar.String("group")
		m["groupId"] = cedar.String(r.Source)
	}
	return cedar.NewRecord(m), nil
}
