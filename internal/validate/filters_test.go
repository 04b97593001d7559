package validate

import (
	"strings"
	"testing"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func TestFilters(t *testing.T) {
	f := func(name string, values ...string) *palisadev1.Filter {
		return &palisadev1.Filter{Name: name, Values: values}
	}
	tests := []struct {
		name    string
		filters []*palisadev1.Filter
		set     FilterSet
		field   string // "" when valid
		says    string
	}{
		{"rule filters", []*palisadev1.Filter{f("group-id", "sg-1*", "sg-2"), f("security-group-rule-id", "sgr-?"), f("tag:team", "pay*")}, RuleFilters, "", ""},
		{"group rule-content filters", []*palisadev1.Filter{f("ip-permission.cidr", "0.0.0.0/0"), f("egress.ip-permission.from-port", "22", "-1"),
			f("ip-permission.protocol", "tcp", "6"), f("group-name", "web-*"), f("tag-key", "team")}, GroupFilters, "", ""},
		{"group filter on rules", []*palisadev1.Filter{f("ip-permission.cidr", "0.0.0.0/0")}, RuleFilters, "filters[0].name", "security-group-rule-id"},
		{"unknown filter", []*palisadev1.Filter{f("group-id", "sg-1"), f("ip-permission.port", "22")}, GroupFilters, "filters[1].name", "ip-permission.from-port"},
		{"empty tag key", []*palisadev1.Filter{f("tag:", "x")}, GroupFilters, "filters[0].name", "tag:<key>"},
		{"no values", []*palisadev1.Filter{f("vpc-id")}, GroupFilters, "filters[0].values", "no values"},
		{"too many values", []*palisadev1.Filter{f("vpc-id", make([]string, 201)...)}, GroupFilters, "filters[0].values", "at most 200"},
		{"port not a number", []*palisadev1.Filter{f("ip-permission.to-port", "22", "2*")}, GroupFilters, "filters[0].values[1]", "not a port"},
		{"bad protocol", []*palisadev1.Filter{f("egress.ip-permission.protocol", "all")}, GroupFilters, "filters[0].values[0]", "not a protocol"},
		{"value too long", []*palisadev1.Filter{f("description", strings.Repeat("a", 257))}, GroupFilters, "filters[0].values[0]", "at most 256"},
		{"too many filters", make([]*palisadev1.Filter, 51), GroupFilters, "filters", "at most 50"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Filters("filters", tc.filters, tc.set)
			if tc.field == "" {
				if len(v) > 0 {
					t.Fatalf("violations %v", v)
				}
				return
			}
			if len(v) != 1 || v[0].Field != tc.field || !strings.Contains(v[0].Description, tc.says) {
				t.Fatalf("violations %v; want one on %s saying %q", v, tc.field, tc.says)
			}
		})
	}
}
