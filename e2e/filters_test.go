package e2e

import (
	"slices"
	"testing"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestGroupFilters selects groups by EC2's filters on their own fields
// and on their rules' content, several values of one filter any, several
// filters all, wildcards where EC2 has them; a filter EC2 lacks, or a
// value it cannot compare, is named.
func TestGroupFilters(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	open, _ := e.newGroupWithRules("web-open", tcp(22, 22, "0.0.0.0/0"), tcp(443, 443, "10.0.0.0/8"))
	split, _ := e.newGroupWithRules("web-split", tcp(22, 22, "10.0.0.0/8"), tcp(443, 443, "0.0.0.0/0"))
	closed, _ := e.newGroupWithRules("db-closed", tcp(5432, 5432, "10.0.0.0/8"))
	list := func(fs ...*palisadev1.Filter) []string {
		t.Helper()
		resp, err := e.sg.ListSecurityGroups(e.ctx, &palisadev1.ListSecurityGroupsRequest{Location: loc, Filters: fs})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, g := range resp.GetSecurityGroups() {
			ids = append(ids, g.GetGroupId())
		}
		slices.Sort(ids)
		return ids
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	f := func(name string, values ...string) *palisadev1.Filter {
		return &palisadev1.Filter{Name: name, Values: values}
	}

	for _, tc := range []struct {
		name    string
		filters []*palisadev1.Filter
		want    []string
	}{
		{"world-open", []*palisadev1.Filter{f("ip-permission.cidr", "0.0.0.0/0")}, sorted(open, split)},
		// As in EC2, the two filters may be met by different rules.
		{"world-open and 22", []*palisadev1.Filter{f("ip-permission.cidr", "0.0.0.0/0"), f("ip-permission.from-port", "22")}, sorted(open, split)},
		{"5432 or 443", []*palisadev1.Filter{f("ip-permission.to-port", "5432", "443")}, sorted(open, split, closed)},
		{"name wildcard", []*palisadev1.Filter{f("group-name", "web-*")}, sorted(open, split)},
		{"name wildcard and port", []*palisadev1.Filter{f("group-name", "web-?pen", "db-*"), f("ip-permission.from-port", "5432")}, []string{closed}},
		{"egress default", []*palisadev1.Filter{f("egress.ip-permission.protocol", "-1"), f("group-name", "db-closed")}, []string{closed}},
		{"no match", []*palisadev1.Filter{f("ip-permission.cidr", "192.0.2.0/24")}, nil},
	} {
		if got := list(tc.filters...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	_, err := e.sg.ListSecurityGroups(e.ctx, &palisadev1.ListSecurityGroupsRequest{Location: loc, Filters: []*palisadev1.Filter{
		f("ip-permission.port", "22"), f("ip-permission.from-port", "ssh"), f("security-group-rule-id", "sgr-0123456789abcdef0"),
	}})
	named := fieldsOf(t, err)
	for _, field := range []string{"filters[0].name", "filters[1].values[0]", "filters[2].name"} {
		if !slices.Contains(named, field) {
			t.Errorf("field %s not named; violations: %v", field, named)
		}
	}
}
