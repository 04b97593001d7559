package ec2sim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// world is one (account, region): EC2 keeps the two apart, so the simulator
// does too, except for a VPC peering with another account's VPC and the
// rules referencing groups across it (crossaccount.go). One mutex per world
// serialises its calls; no call holds two worlds' mutexes at once.
type world struct {
	mu         sync.Mutex
	Account    string            `json:"account"`
	Region     string            `json:"region"`
	DefaultVPC string            `json:"defaultVpc,omitempty"`
	VPCs       map[string]*vpc   `json:"vpcs"`
	Groups     map[string]*group `json:"groups"`
	Rules      map[string]*rule  `json:"rules"`
	// PrefixLists holds the account's own managed prefix lists; the
	// AWS-managed ones are not stored (see awsManagedLists).
	PrefixLists map[string]*prefixList `json:"prefixLists,omitempty"`
	// Associations holds groups' associations with other VPCs, by
	// "<group id>/<vpc id>".
	Associations map[string]*association `json:"associations,omitempty"`
	// Peerings holds VPC peering connections between the world's VPCs.
	Peerings map[string]*peering `json:"peerings,omitempty"`

	// byName indexes groups by VPC and lower-cased name, so name lookups
	// and the uniqueness check do not scan every group. It is derived
	// state: rebuilt on first use after a load.
	byName map[nameKey]*group
	// perVPC counts groups per VPC for the quota check; derived with
	// byName.
	perVPC map[string]int
	// dirty holds the ids of objects changed since the world last went to
	// the journal; persistence writes exactly these (see journal.go).
	dirty map[string]struct{}
	// track is set when the Sim persists its state; otherwise nothing
	// would ever drain dirty.
	track bool
}

// touch records that the object with this id was created, changed or
// deleted. Every change to the world goes through it, so the journal
// records the change and nothing else.
func (w *world) touch(id string) {
	if !w.track {
		return
	}
	if w.dirty == nil {
		w.dirty = make(map[string]struct{})
	}
	w.dirty[id] = struct{}{}
}

type nameKey struct{ vpcID, lowerName string }

type vpc struct {
	ID              string    `json:"id"`
	CIDR            string    `json:"cidr"`
	CIDRAssocID     string    `json:"cidrAssocId"`
	IPv6CIDR        string    `json:"ipv6Cidr,omitempty"`
	IPv6AssocID     string    `json:"ipv6AssocId,omitempty"`
	IsDefault       bool      `json:"isDefault"`
	InstanceTenancy string    `json:"instanceTenancy"`
	DefaultGroupID  string    `json:"defaultGroupId"`
	Tags            tags      `json:"tags,omitempty"`
	Created         time.Time `json:"created"`
}

type group struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	VPCID       string    `json:"vpcId"`
	IsDefault   bool      `json:"isDefault"`
	Tags        tags      `json:"tags,omitempty"`
	Created     time.Time `json:"created"`
	// Ingress and Egress hold rule ids in creation order, which is the order
	// describes report them in.
	Ingress []string `json:"ingress"`
	Egress  []string `json:"egress"`
}

// ruleKind is the kind of a rule's single source (inbound) or destination
// (outbound). EC2 never lets it change after creation.
type ruleKind int

const (
	kindCIDRv4 ruleKind = iota + 1
	kindCIDRv6
	kindPrefixList
	kindGroup
)

func (k ruleKind) String() string {
	switch k {
	case kindCIDRv4:
		return "ipv4"
	case kindCIDRv6:
		return "ipv6"
	case kindPrefixList:
		return "prefix-list"
	case kindGroup:
		return "group"
	}
	return "unknown"
}

// ruleSpec is a rule's identity plus its description: the canonical form that
// authorize, revoke and modify compare. Protocol is the canonical name or
// number; a protocol without ports has FromPort = ToPort = -1.
type ruleSpec struct {
	Protocol    string   `json:"protocol"`
	FromPort    int32    `json:"fromPort"`
	ToPort      int32    `json:"toPort"`
	Kind        ruleKind `json:"kind"`
	Target      string   `json:"target"` // canonical CIDR, pl- id or sg- id
	Description string   `json:"description,omitempty"`
	// PeerVPC and PeeringID record, for a group in another VPC, that VPC
	// and the peering the rule was made across. They are not part of the
	// rule's identity (key).
	PeerVPC   string `json:"peerVpc,omitempty"`
	PeeringID string `json:"peeringId,omitempty"`
	// PeerOwner is the account of a referenced group that belongs to
	// another account (reachable across a peering of the two accounts'
	// VPCs); empty for a group of the world's own account.
	PeerOwner string `json:"peerOwner,omitempty"`
}

// ruleKey identifies a rule within one direction of one group: two rules
// with the same key are the same rule to EC2, whatever their descriptions.
// A comparable struct rather than a formatted string keeps the duplicate
// checks, which run over every rule of the group, free of allocations.
type ruleKey struct {
	protocol string
	from, to int32
	kind     ruleKind
	target   string
}

func (s ruleSpec) key() ruleKey {
	return ruleKey{s.Protocol, s.FromPort, s.ToPort, s.Kind, s.Target}
}

type rule struct {
	ID      string    `json:"id"`
	GroupID string    `json:"groupId"`
	Egress  bool      `json:"egress"`
	Spec    ruleSpec  `json:"spec"`
	Tags    tags      `json:"tags,omitempty"`
	Created time.Time `json:"created"`
}

// tags maps key to value; describes sort by key so output is deterministic.
type tags map[string]string

func (t tags) sortedKeys() []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (t tags) clone() tags {
	if len(t) == 0 {
		return nil
	}
	c := make(tags, len(t))
	for k, v := range t {
		c[k] = v
	}
	return c
}

// protocolHasPorts reports whether EC2 keeps a port (or ICMP type/code) range
// for the protocol. For -1 and every other number the rule covers all ports,
// whatever range was sent.
func protocolHasPorts(p string) bool {
	switch p {
	case "tcp", "udp", "icmp", "icmpv6":
		return true
	}
	return false
}

// idHexLen is the length of the hex part of every id the simulator mints;
// EC2's current ids are prefix + 17 lowercase hex digits.
const idHexLen = 17

// newID mints prefix + 17 random lowercase hex digits, retrying on the
// (astronomically unlikely) collision with an id in use.
func newID(prefix string, taken func(string) bool) string {
	var b [9]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			// crypto/rand does not fail on supported platforms; if it ever
			// does there is no sensible id to return.
			panic(fmt.Sprintf("ec2sim: crypto/rand: %v", err))
		}
		id := prefix + hex.EncodeToString(b[:])[:idHexLen]
		if taken == nil || !taken(id) {
			return id
		}
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func newWorld(account, region string) *world {
	return &world{
		Account: account,
		Region:  region,
		VPCs:    make(map[string]*vpc),
		Groups:  make(map[string]*group),
		Rules:   make(map[string]*rule),

		PrefixLists:  make(map[string]*prefixList),
		Associations: make(map[string]*association),
		Peerings:     make(map[string]*peering),
	}
}

func (w *world) idTaken(id string) bool {
	_, v := w.VPCs[id]
	_, g := w.Groups[id]
	_, r := w.Rules[id]
	_, pl := w.PrefixLists[id]
	_, pcx := w.Peerings[id]
	return v || g || r || pl || pcx
}

// addVPC creates a VPC together with its default security group, as EC2
// does: the group allows all traffic from its own members and all traffic
// out (to ::/0 as well when the VPC has an IPv6 block).
func (w *world) addVPC(cidr string, ipv6 bool, isDefault bool, tenancy string, t tags, now time.Time) *vpc {
	v := &vpc{
		ID:              newID("vpc-", w.idTaken),
		CIDR:            cidr,
		IsDefault:       isDefault,
		InstanceTenancy: tenancy,
		Tags:            t,
		Created:         now,
	}
	v.CIDRAssocID = newID("vpc-cidr-assoc-", nil)
	if ipv6 {
		v.IPv6CIDR = randomIPv6Block()
		v.IPv6AssocID = newID("vpc-cidr-assoc-", nil)
	}
	w.VPCs[v.ID] = v
	w.touch(v.ID)
	if isDefault {
		w.DefaultVPC = v.ID
	}
	g := w.addGroup("default", "default VPC security group", v, nil, now)
	g.IsDefault = true
	w.addRule(g, false, ruleSpec{Protocol: "-1", FromPort: -1, ToPort: -1, Kind: kindGroup, Target: g.ID}, nil, now)
	v.DefaultGroupID = g.ID
	return v
}

// addGroup creates a group with EC2's default egress: all traffic to
// 0.0.0.0/0, and to ::/0 when the VPC has an IPv6 block.
func (w *world) addGroup(name, desc string, v *vpc, t tags, now time.Time) *group {
	g := &group{
		ID:          newID("sg-", w.idTaken),
		Name:        name,
		Description: desc,
		VPCID:       v.ID,
		Tags:        t,
		Created:     now,
		Ingress:     []string{},
		Egress:      []string{},
	}
	names := w.names() // built before the group joins, so it is counted once
	w.Groups[g.ID] = g
	w.touch(g.ID)
	names[nameKey{v.ID, strings.ToLower(name)}] = g
	w.perVPC[v.ID]++
	w.addRule(g, true, ruleSpec{Protocol: "-1", FromPort: -1, ToPort: -1, Kind: kindCIDRv4, Target: "0.0.0.0/0"}, nil, now)
	if v.IPv6CIDR != "" {
		w.addRule(g, true, ruleSpec{Protocol: "-1", FromPort: -1, ToPort: -1, Kind: kindCIDRv6, Target: "::/0"}, nil, now)
	}
	return g
}

func (w *world) addRule(g *group, egress bool, spec ruleSpec, t tags, now time.Time) *rule {
	r := &rule{ID: newID("sgr-", w.idTaken), GroupID: g.ID, Egress: egress, Spec: spec, Tags: t.clone(), Created: now}
	w.Rules[r.ID] = r
	w.touch(r.ID)
	w.touch(g.ID)
	if egress {
		g.Egress = append(g.Egress, r.ID)
	} else {
		g.Ingress = append(g.Ingress, r.ID)
	}
	return r
}

func (w *world) removeRule(r *rule) {
	g := w.Groups[r.GroupID]
	delete(w.Rules, r.ID)
	w.touch(r.ID)
	if g == nil {
		return
	}
	w.touch(g.ID)
	list := &g.Ingress
	if r.Egress {
		list = &g.Egress
	}
	for i, id := range *list {
		if id == r.ID {
			*list = append((*list)[:i], (*list)[i+1:]...)
			return
		}
	}
}

// removeVPC deletes a VPC and its default group; the caller has checked
// that nothing else depends on it.
func (w *world) removeVPC(v *vpc) {
	if g := w.Groups[v.DefaultGroupID]; g != nil {
		w.removeGroup(g)
	}
	delete(w.VPCs, v.ID)
	w.touch(v.ID)
	if w.DefaultVPC == v.ID {
		w.DefaultVPC = ""
	}
}

func (w *world) removeGroup(g *group) {
	names := w.names() // built while the group is still there, so it is uncounted once
	for _, id := range append(append([]string{}, g.Ingress...), g.Egress...) {
		delete(w.Rules, id)
		w.touch(id)
	}
	delete(w.Groups, g.ID)
	w.touch(g.ID)
	delete(names, nameKey{g.VPCID, strings.ToLower(g.Name)})
	w.perVPC[g.VPCID]--
}

// rulesOf returns a group's rules in one direction, in creation order.
func (w *world) rulesOf(g *group, egress bool) []*rule {
	ids := g.Ingress
	if egress {
		ids = g.Egress
	}
	out := make([]*rule, 0, len(ids))
	for _, id := range ids {
		if r := w.Rules[id]; r != nil {
			out = append(out, r)
		}
	}
	return out
}

// groupByName finds a group by name within a VPC. Names are unique per VPC
// compared case-insensitively, so the lookup is case-insensitive too.
func (w *world) groupByName(vpcID, name string) *group {
	return w.names()[nameKey{vpcID, strings.ToLower(name)}]
}

func (w *world) names() map[nameKey]*group {
	if w.byName == nil {
		w.byName = make(map[nameKey]*group, len(w.Groups))
		w.perVPC = make(map[string]int)
		for _, g := range w.Groups {
			w.byName[nameKey{g.VPCID, strings.ToLower(g.Name)}] = g
			w.perVPC[g.VPCID]++
		}
	}
	return w.byName
}

func (w *world) groupCount(vpcID string) int {
	w.names()
	return w.perVPC[vpcID]
}

func (w *world) groupArn(id string) string {
	return "arn:aws:ec2:" + w.Region + ":" + w.Account + ":security-group/" + id
}

func (w *world) ruleArn(id string) string {
	return "arn:aws:ec2:" + w.Region + ":" + w.Account + ":security-group-rule/" + id
}

// randomIPv6Block picks an Amazon-looking /56 for a VPC's IPv6 block.
func randomIPv6Block() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("2600:1f18:%02x%02x:%02x00::/56", b[0], b[1], b[2])
}
