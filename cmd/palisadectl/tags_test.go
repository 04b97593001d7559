package main

import (
	"maps"
	"strings"
	"testing"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func TestParseTags(t *testing.T) {
	got, err := parseTags([]string{"Key=Name,Value=ftp", `[{"Key":"env","Value":"prod"},{"Key":"empty"}]`})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"Name": "ftp", "env": "prod", "empty": ""}; !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if err := parseTagSpecifications([]string{"ResourceType=security-group,Tags=[{Key=team,Value=net},{Key=cost,Value=42}]",
		`{"ResourceType":"security-group","Tags":[{"Key":"tier","Value":"web"}]}`}, got); err != nil {
		t.Fatal(err)
	}
	if got["team"] != "net" || got["cost"] != "42" || got["tier"] != "web" {
		t.Fatalf("tag specifications: %v", got)
	}
	for _, c := range []struct {
		values []string
		specs  bool
		want   string
	}{
		{[]string{"Key=a,Value=1", "Key=a,Value=2"}, false, `tag "a" given twice`},
		{[]string{"Value=1"}, false, "needs a Key"},
		{[]string{"Key=a,Colour=red"}, false, `unknown key "Colour"`},
		{[]string{`[{"Key":1}]`}, false, "expected a string"},
		{[]string{`[1]`}, false, "expected Key="},
		{[]string{"[oops"}, false, "--tags value 1"},
		{[]string{"ResourceType=instance,Tags=[{Key=a,Value=b}]"}, true, "only security-group"},
		{[]string{"ResourceType=security-group,Labels=x"}, true, `unknown key "Labels"`},
		{[]string{`[1, 2]`}, true, "expected one"},
	} {
		var err error
		if c.specs {
			err = parseTagSpecifications(c.values, map[string]string{})
		} else {
			_, err = parseTags(c.values)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v lacks %q", c.values, err, c.want)
		}
	}
}

func TestParseFilters(t *testing.T) {
	req := &palisadev1.ListSecurityGroupsRequest{}
	err := parseFilters([]string{"tag:env=prod", "Name=tag:team,Values=net", "vpc-id=vpc-1", "Name=group-id,Values=sg-1,sg-2",
		`[{"Name":"group-id","Values":["sg-3"]}]`, "Name=ip-permission.cidr,Values=0.0.0.0/0", "tag:tier=web,db"}, req)
	if err != nil {
		t.Fatal(err)
	}
	if req.GetVpcId() != "vpc-1" || !maps.Equal(req.GetTags(), map[string]string{"env": "prod", "team": "net"}) ||
		strings.Join(req.GetGroupIds(), " ") != "sg-1 sg-2 sg-3" || len(req.GetFilters()) != 2 ||
		req.GetFilters()[0].GetName() != "ip-permission.cidr" || strings.Join(req.GetFilters()[1].GetValues(), " ") != "web db" {
		t.Fatalf("got %v", req)
	}
	for _, c := range []struct{ value, want string }{
		{"env", "write name=value"},
		{"Name=vpc-id", "has no values"},
		{"Name=vpc-id,Vals=a", `unknown key "Vals"`},
		{"[x", "--filters value 1"},
	} {
		if err := parseFilters([]string{c.value}, &palisadev1.ListSecurityGroupsRequest{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v lacks %q", c.value, err, c.want)
		}
	}
}
