package rules

import (
	"fmt"
	"strconv"
)

// Expand validates perms and turns them into canonical Rules, one per peer,
// in input order. Field paths in violations are rooted at path (for example
// "ip_permissions"). It returns either the rules or every violation found;
// never both.
//
// Beyond each field's own rules it refuses a permission with no peer, the
// same rule twice in one request (compared after canonicalisation, so
// "10.0.0.5/16" repeats "10.0.0.0/16"; the later one is reported), and more
// than MaxRulesPerDirection rules of one family in one request, which no
// group could hold.
func Expand(path string, dir Direction, perms []Permission) ([]Rule, Violations) {
	rules, _, vs := ExpandFields(path, dir, perms)
	return rules, vs
}

// ExpandFields is Expand that also returns, for each rule, the field path
// of the peer it came from (e.g. "ip_permissions[0].ip_ranges[1].cidr_ip"),
// so a decision about one rule can name it.
func ExpandFields(path string, dir Direction, perms []Permission) ([]Rule, []string, Violations) {
	peers := 0
	for _, p := range perms {
		peers += len(p.IPv4Ranges) + len(p.IPv6Ranges) + len(p.PrefixLists) + len(p.Groups)
	}
	if vs := CheckCounts(path, len(perms), peers); vs != nil {
		return nil, nil, vs
	}
	e := expander{dir: dir, seen: make(map[string]string)}
	if dir != Ingress && dir != Egress {
		e.vs.add(path, "internal: direction %d is neither ingress nor egress", int(dir))
	}
	for i, p := range perms {
		e.permission(path+"["+strconv.Itoa(i)+"]", p)
	}
	e.requestQuota(path)
	if len(e.vs) > 0 {
		return nil, nil, e.vs
	}
	return e.out, e.fields, nil
}

// MaxPeersPerRequest is the most peers (IPv4 and IPv6 ranges, prefix
// lists, groups) one direction of a request can name and still fit a
// group: MaxRulesPerDirection IPv4 rules and as many IPv6 rules, and a
// rule naming a group or prefix list counts against both. Each permission
// needs a peer, so it bounds the permissions too.
const MaxPeersPerRequest = 2 * MaxRulesPerDirection

// CheckCounts refuses, with one violation at path, a list of perms
// permissions naming peers peers in all that no group could hold, so a
// caller can refuse an oversized list before looking at any item of it.
func CheckCounts(path string, perms, peers int) Violations {
	var vs Violations
	switch {
	case perms > MaxPeersPerRequest:
		vs.add(path, "%d permissions given; a security group holds at most %d rules per direction (%d IPv4 and %d IPv6), and every permission makes at least one", perms, MaxPeersPerRequest, MaxRulesPerDirection, MaxRulesPerDirection)
	case peers > MaxPeersPerRequest:
		vs.add(path, "the permissions name %d peers (ranges, prefix lists and groups), each a rule; a security group holds at most %d rules per direction (%d IPv4 and %d IPv6)", peers, MaxPeersPerRequest, MaxRulesPerDirection, MaxRulesPerDirection)
	}
	return vs
}

type expander struct {
	dir    Direction
	out    []Rule
	fields []string // the field path of each rule in out
	vs     Violations
	seen   map[string]string // Key → field path of the first occurrence
}

func (e *expander) permission(pp string, p Permission) {
	var from, to int32
	proto, msg := canonicalProtocol(p.Protocol)
	ok := msg == ""
	if !ok {
		e.vs.add(pp+".ip_protocol", "%s", msg)
	} else {
		from, to, ok = canonicalPorts(&e.vs, pp, proto, p.FromPort, p.ToPort)
	}
	if len(p.IPv4Ranges)+len(p.IPv6Ranges)+len(p.PrefixLists)+len(p.Groups) == 0 {
		e.vs.add(pp, "permission has no %s; give at least one of ip_ranges, ipv6_ranges, prefix_list_ids or user_id_group_pairs", e.dir.peer())
	}
	base := Rule{Direction: e.dir, Protocol: proto, FromPort: from, ToPort: to}

	for j, c := range p.IPv4Ranges {
		fp := pp + ".ip_ranges[" + strconv.Itoa(j) + "]"
		src, okSrc := canonicalCIDR(&e.vs, fp+".cidr_ip", c.Value, false)
		okDesc := checkRuleDescription(&e.vs, fp+".description", c.Description)
		e.emit(ok && okSrc && okDesc, fp+".cidr_ip", base, SourceIPv4, src, c.Description)
	}
	for j, c := range p.IPv6Ranges {
		fp := pp + ".ipv6_ranges[" + strconv.Itoa(j) + "]"
		src, okSrc := canonicalCIDR(&e.vs, fp+".cidr_ipv6", c.Value, true)
		okDesc := checkRuleDescription(&e.vs, fp+".description", c.Description)
		e.emit(ok && okSrc && okDesc, fp+".cidr_ipv6", base, SourceIPv6, src, c.Description)
	}
	for j, pl := range p.PrefixLists {
		fp := pp + ".prefix_list_ids[" + strconv.Itoa(j) + "]"
		okSrc := checkID(&e.vs, fp+".prefix_list_id", "prefix list id", pl.ID, "pl-", shortAndLong)
		okDesc := checkRuleDescription(&e.vs, fp+".description", pl.Description)
		e.emit(ok && okSrc && okDesc, fp+".prefix_list_id", base, SourcePrefixList, pl.ID, pl.Description)
	}
	for j, g := range p.Groups {
		fp := pp + ".user_id_group_pairs[" + strconv.Itoa(j) + "]"
		okSrc := checkID(&e.vs, fp+".group_id", "security group id", g.GroupID, "sg-", shortAndLong)
		if g.UserID != "" {
			okSrc = checkAccountID(&e.vs, fp+".user_id", g.UserID) && okSrc
		}
		if g.VpcID != "" {
			okSrc = checkID(&e.vs, fp+".vpc_id", "VPC id", g.VpcID, "vpc-", shortAndLong) && okSrc
		}
		if g.PeeringID != "" {
			okSrc = checkID(&e.vs, fp+".vpc_peering_connection_id", "VPC peering connection id", g.PeeringID, "pcx-", shortAndLong) && okSrc
		}
		okDesc := checkRuleDescription(&e.vs, fp+".description", g.Description)
		r := base
		r.UserID, r.VpcID, r.PeeringID = g.UserID, g.VpcID, g.PeeringID
		e.emit(ok && okSrc && okDesc, fp+".group_id", r, SourceGroup, g.GroupID, g.Description)
	}
}

// emit records one rule when everything about it was valid, refusing a
// repeat of an earlier rule of the same request.
func (e *expander) emit(valid bool, field string, r Rule, kind SourceKind, src, desc string) {
	if !valid {
		return
	}
	r.Kind, r.Source, r.Description = kind, src, desc
	key := r.Key()
	if first, dup := e.seen[key]; dup {
		e.vs.add(field, "the same permission must not appear multiple times: this rule (%s) repeats %s", r, first)
		return
	}
	e.seen[key] = field
	e.out = append(e.out, r)
	e.fields = append(e.fields, field)
}

func (e *expander) requestQuota(path string) {
	var v4, v6 int
	for _, r := range e.out {
		if r.CountsIPv4() {
			v4++
		}
		if r.CountsIPv6() {
			v6++
		}
	}
	for _, c := range []struct {
		family string
		n      int
	}{{"IPv4", v4}, {"IPv6", v6}} {
		if c.n > MaxRulesPerDirection {
			e.vs.add(path, "%s", fmt.Sprintf("this request holds %d %s rules counting against the %s quota, more than the %d a security group can hold per direction (rules naming a group or prefix list count against both IPv4 and IPv6)",
				c.n, e.dir, c.family, MaxRulesPerDirection))
		}
	}
}
