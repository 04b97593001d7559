package services

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
	"github.com/palisadehq/palisade/internal/validate"
)

func TestPushedFilters(t *testing.T) {
	world4 := netip.MustParsePrefix("0.0.0.0/0")
	world6 := netip.MustParsePrefix("::/0")
	host := netip.MustParsePrefix("203.0.113.7/32")
	v6host := netip.MustParsePrefix("2001:db8::1/128")
	ssh := rules.Predicate{Direction: rules.Ingress, Protocol: "tcp", Port: 22, HasPort: true, Contains: world4}
	callerFilter := func(name string) []*palisadev1.Filter {
		return []*palisadev1.Filter{{Name: name, Values: []string{"x"}}}
	}
	for _, tc := range []struct {
		name   string
		preds  []rules.Predicate
		caller []*palisadev1.Filter
		want   string
	}{
		{name: "no predicate", want: ""},
		{name: "world-open ssh", preds: []rules.Predicate{ssh},
			want: "ip-permission.cidr=0.0.0.0/0; ip-permission.protocol=tcp,6,-1"},
		{name: "egress ipv6 world", preds: []rules.Predicate{{Direction: rules.Egress, Contains: world6}},
			want: "egress.ip-permission.ipv6-cidr=::/0"},
		{name: "an address: itself and every supernet", preds: []rules.Predicate{{Direction: rules.Ingress, Contains: netip.MustParsePrefix("10.1.2.3/30")}},
			want: "ip-permission.cidr=10.1.2.0/30,10.1.2.0/29,10.1.2.0/28,10.1.2.0/27,10.1.2.0/26,10.1.2.0/25,10.1.2.0/24,10.1.2.0/23,10.1.0.0/22,10.1.0.0/21,10.1.0.0/20,10.1.0.0/19,10.1.0.0/18,10.1.0.0/17,10.1.0.0/16,10.0.0.0/15,10.0.0.0/14,10.0.0.0/13,10.0.0.0/12,10.0.0.0/11,10.0.0.0/10,10.0.0.0/9,10.0.0.0/8,10.0.0.0/7,8.0.0.0/6,8.0.0.0/5,0.0.0.0/4,0.0.0.0/3,0.0.0.0/2,0.0.0.0/1,0.0.0.0/0"},
		{name: "all protocols only", preds: []rules.Predicate{{Direction: rules.Egress, Protocol: "-1"}},
			want: "egress.ip-permission.protocol=-1"},
		{name: "a numbered protocol", preds: []rules.Predicate{{Direction: rules.Ingress, Protocol: "47"}},
			want: "ip-permission.protocol=47,-1"},
		{name: "icmpv6 by name and number", preds: []rules.Predicate{{Direction: rules.Ingress, Protocol: "icmpv6"}},
			want: "ip-permission.protocol=icmpv6,58,-1"},
		{name: "a port alone: tcp, udp or all", preds: []rules.Predicate{{Direction: rules.Ingress, Port: 53, HasPort: true}},
			want: "ip-permission.protocol=tcp,6,udp,17,-1"},
		{name: "no direction: nothing", preds: []rules.Predicate{{Protocol: "tcp", Port: 22, HasPort: true, Contains: world4}}, want: ""},
		{name: "an IPv4-mapped range: no cidr filter", preds: []rules.Predicate{{Direction: rules.Ingress, Contains: netip.MustParsePrefix("::ffff:10.0.0.0/104")}}, want: ""},
		{name: "another account: nothing", preds: []rules.Predicate{{Direction: rules.Ingress, OtherAccount: true, Owner: "111122223333"}}, want: ""},
		{name: "the caller's filter of the name wins", preds: []rules.Predicate{ssh}, caller: callerFilter("ip-permission.cidr"),
			want: "ip-permission.protocol=tcp,6,-1"},
		{name: "the caller's egress filter leaves ingress pushed", preds: []rules.Predicate{ssh}, caller: callerFilter("egress.ip-permission.cidr"),
			want: "ip-permission.cidr=0.0.0.0/0; ip-permission.protocol=tcp,6,-1"},
		{name: "two predicates, one name: the narrower alone", preds: []rules.Predicate{
			{Direction: rules.Ingress, Contains: netip.MustParsePrefix("10.0.0.0/8")}, {Direction: rules.Ingress, Contains: world4}},
			want: "ip-permission.cidr=0.0.0.0/0"},
		{name: "two predicates, two directions", preds: []rules.Predicate{
			{Direction: rules.Ingress, Contains: world4}, {Direction: rules.Egress, Contains: v6host}},
			want: "egress.ip-permission.ipv6-cidr=" + strings.Join(supernets(v6host), ",") + "; ip-permission.cidr=0.0.0.0/0"},
		{name: "a host: 33 values", preds: []rules.Predicate{{Direction: rules.Ingress, Contains: host}},
			want: "ip-permission.cidr=" + strings.Join(supernets(host), ",")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := filtersText(pushedFilters(tc.preds, tc.caller)); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestSupernetsCount(t *testing.T) {
	for _, tc := range []struct {
		pfx  string
		want int
	}{{"0.0.0.0/0", 1}, {"203.0.113.7/32", 33}, {"2001:db8::1/128", 129}, {"::/0", 1}} {
		got := supernets(netip.MustParsePrefix(tc.pfx))
		if len(got) != tc.want || len(got) > validate.MaxFilterValues {
			t.Errorf("%s: %d supernets, want %d", tc.pfx, len(got), tc.want)
		}
		if got[len(got)-1] != netip.MustParsePrefix(tc.pfx).Masked().String() && !strings.HasSuffix(got[len(got)-1], "/0") {
			t.Errorf("%s: widest is %s", tc.pfx, got[len(got)-1])
		}
	}
}

// TestPushedFiltersRoom: with the caller's filters at EC2's limit nothing
// is added, and near it only what fits.
func TestPushedFiltersRoom(t *testing.T) {
	preds := []rules.Predicate{{Direction: rules.Ingress, Protocol: "tcp", Contains: netip.MustParsePrefix("0.0.0.0/0")}}
	var caller []*palisadev1.Filter
	for i := range validate.MaxFilters - 1 {
		caller = append(caller, &palisadev1.Filter{Name: fmt.Sprintf("tag:k%d", i), Values: []string{"v"}})
	}
	if got := pushedFilters(preds, caller); len(got) != 1 {
		t.Fatalf("one place left, %d filters pushed", len(got))
	}
	caller = append(caller, &palisadev1.Filter{Name: "tag:last", Values: []string{"v"}})
	if got := pushedFilters(preds, caller); len(got) != 0 {
		t.Fatalf("no place left, %d filters pushed", len(got))
	}
}

// TestPushedFiltersNeverLoseAMatch: on random groups and predicates, every
// group meeting the predicates passes the pushed filters as EC2 applies
// them (each filter met by some rule of its direction, any of its values).
func TestPushedFiltersNeverLoseAMatch(t *testing.T) {
	rnd := rand.New(rand.NewPCG(14, 22))
	cidrs := []string{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "203.0.113.0/24", "192.168.0.0/16"}
	cidrs6 := []string{"::/0", "2001:db8::/32", "2001:db8:1::/48", "fd00::/8"}
	protocols := []string{"tcp", "udp", "icmp", "icmpv6", "-1", "47"}
	randomRule := func() rules.Rule {
		r := rules.Rule{Direction: rules.Direction(1 + rnd.IntN(2)), Protocol: protocols[rnd.IntN(len(protocols))]}
		if r.Protocol == "tcp" || r.Protocol == "udp" {
			r.FromPort = int32(rnd.IntN(100))
			r.ToPort = r.FromPort + int32(rnd.IntN(100))
		}
		switch rnd.IntN(3) {
		case 0:
			r.Kind, r.Source = rules.SourceIPv4, cidrs[rnd.IntN(len(cidrs))]
		case 1:
			r.Kind, r.Source = rules.SourceIPv6, cidrs6[rnd.IntN(len(cidrs6))]
		default:
			r.Kind, r.Source = rules.SourceGroup, "sg-0123456789abcdef0"
		}
		return r
	}
	wants := []string{"0.0.0.0/0", "10.1.2.3/32", "10.1.0.0/16", "2001:db8:1::5/128", "::/0", "fd00::/16"}
	randomPredicate := func() rules.Predicate {
		var p rules.Predicate
		p.Direction = rules.Direction(rnd.IntN(3))
		if rnd.IntN(2) == 0 {
			p.Protocol = protocols[rnd.IntN(len(protocols))]
		}
		if rnd.IntN(2) == 0 {
			p.Port, p.HasPort = int32(rnd.IntN(200)), true
		}
		if rnd.IntN(3) > 0 {
			p.Contains = netip.MustParsePrefix(wants[rnd.IntN(len(wants))]).Masked()
		}
		return p
	}
	matched := 0
	for range 20000 {
		group := make([]rules.Rule, 1+rnd.IntN(5))
		for i := range group {
			group[i] = randomRule()
		}
		preds := make([]rules.Predicate, 1+rnd.IntN(3))
		for i := range preds {
			preds[i] = randomPredicate()
		}
		if _, ok := matching(preds, group); !ok {
			continue
		}
		matched++
		for _, f := range pushedFilters(preds, nil) {
			if !passes(f, group) {
				t.Fatalf("group %+v meets %+v but not filter %s", group, preds, filtersText([]types.Filter{f}))
			}
		}
	}
	if matched < 1000 {
		t.Fatalf("only %d random groups matched; the test proves little", matched)
	}
}

// passes applies one rule filter to a group's rules as EC2 does, for the
// filters pushedFilters makes (exact values, no wildcards).
func passes(f types.Filter, group []rules.Rule) bool {
	name := aws.ToString(f.Name)
	dir := rules.Ingress
	if rest, ok := strings.CutPrefix(name, "egress."); ok {
		dir, name = rules.Egress, rest
	}
	for _, r := range group {
		if r.Direction != dir {
			continue
		}
		var value string
		switch {
		case name == "ip-permission.protocol":
			value = r.Protocol
		case name == "ip-permission.cidr" && r.Kind == rules.SourceIPv4, name == "ip-permission.ipv6-cidr" && r.Kind == rules.SourceIPv6:
			value = r.Source
		default:
			continue
		}
		if slices.Contains(f.Values, value) {
			return true
		}
	}
	return false
}

func filtersText(fs []types.Filter) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = aws.ToString(f.Name) + "=" + strings.Join(f.Values, ",")
	}
	return strings.Join(parts, "; ")
}
