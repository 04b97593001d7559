package ec2sim_test

import (
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

func (e *env) createPL(name string, max int32, cidrs ...string) *types.ManagedPrefixList {
	e.t.Helper()
	in := &ec2.CreateManagedPrefixListInput{PrefixListName: aws.String(name), MaxEntries: aws.Int32(max), AddressFamily: aws.String("IPv4")}
	for _, c := range cidrs {
		in.Entries = append(in.Entries, types.AddPrefixListEntry{Cidr: aws.String(c)})
	}
	out, err := e.ec2.CreateManagedPrefixList(ctx(e.t), in)
	mustOK(e.t, err)
	return out.PrefixList
}

func plRule(pl string) types.IpPermission {
	return types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
		PrefixListIds: []types.PrefixListId{{PrefixListId: aws.String(pl)}}}
}

// The life of a customer-managed list (EC2 API reference of the five
// calls): created at version 1 in state create-complete; entries change
// with a new version; CurrentVersion guards a modify
// (PrefixListVersionMismatch, quoted in hashicorp/terraform-provider-aws#43528);
// entries and MaxEntries never change together (InvalidParameterCombination,
// quoted in hashicorp/terraform-provider-aws#26034).
func TestManagedPrefixList(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	pl := e.createPL("corp", 5, "10.1.2.3/16", "192.0.2.0/24")
	id := aws.ToString(pl.PrefixListId)
	if !validID(id, "pl-") || aws.ToInt64(pl.Version) != 1 || pl.State != types.PrefixListStateCreateComplete ||
		aws.ToInt32(pl.MaxEntries) != 5 || aws.ToString(pl.OwnerId) != "123456789012" ||
		aws.ToString(pl.PrefixListArn) != "arn:aws:ec2:us-east-1:123456789012:prefix-list/"+id {
		t.Fatalf("created %+v", pl)
	}
	entries := func() []string {
		out, err := e.ec2.GetManagedPrefixListEntries(ctx(t), &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String(id)})
		mustOK(t, err)
		var cs []string
		for _, x := range out.Entries {
			cs = append(cs, aws.ToString(x.Cidr)+"|"+aws.ToString(x.Description))
		}
		return cs
	}
	if got := entries(); !sameSet(got, []string{"10.1.0.0/16|", "192.0.2.0/24|"}) {
		t.Errorf("entries %v", got)
	}

	// Removals before additions: one call replaces an entry's description.
	m, err := e.ec2.ModifyManagedPrefixList(ctx(t), &ec2.ModifyManagedPrefixListInput{PrefixListId: aws.String(id), CurrentVersion: aws.Int64(1),
		RemoveEntries: []types.RemovePrefixListEntry{{Cidr: aws.String("192.0.2.0/24")}},
		AddEntries:    []types.AddPrefixListEntry{{Cidr: aws.String("192.0.2.0/24"), Description: aws.String("lab")}, {Cidr: aws.String("198.51.100.0/24")}}})
	mustOK(t, err)
	if aws.ToInt64(m.PrefixList.Version) != 2 || m.PrefixList.State != types.PrefixListStateModifyComplete {
		t.Errorf("modified %+v", m.PrefixList)
	}
	if got := entries(); !sameSet(got, []string{"10.1.0.0/16|", "192.0.2.0/24|lab", "198.51.100.0/24|"}) {
		t.Errorf("entries after modify %v", got)
	}
	_, err = e.ec2.GetManagedPrefixListEntries(ctx(t), &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String(id), TargetVersion: aws.Int64(2), MaxResults: aws.Int32(2)})
	mustOK(t, err)

	mod := func(in ec2.ModifyManagedPrefixListInput) error {
		in.PrefixListId = aws.String(id)
		_, err := e.ec2.ModifyManagedPrefixList(ctx(t), &in)
		return err
	}
	for _, tc := range []struct {
		name string
		in   ec2.ModifyManagedPrefixListInput
		code string
	}{
		{"stale version", ec2.ModifyManagedPrefixListInput{CurrentVersion: aws.Int64(1), AddEntries: []types.AddPrefixListEntry{{Cidr: aws.String("203.0.113.0/24")}}}, "PrefixListVersionMismatch"},
		{"entries and size", ec2.ModifyManagedPrefixListInput{MaxEntries: aws.Int32(9), AddEntries: []types.AddPrefixListEntry{{Cidr: aws.String("203.0.113.0/24")}}}, "InvalidParameterCombination"},
		{"over MaxEntries", ec2.ModifyManagedPrefixListInput{AddEntries: []types.AddPrefixListEntry{{Cidr: aws.String("203.0.113.0/25")}, {Cidr: aws.String("203.0.113.128/25")}, {Cidr: aws.String("203.0.114.0/24")}}}, "PrefixListMaxEntriesExceeded"},
		{"shrink below entries", ec2.ModifyManagedPrefixListInput{MaxEntries: aws.Int32(2)}, "PrefixListMaxEntriesExceeded"},
		{"IPv6 entry in IPv4 list", ec2.ModifyManagedPrefixListInput{AddEntries: []types.AddPrefixListEntry{{Cidr: aws.String("2001:db8::/32")}}}, "InvalidParameterValue"},
		{"remove missing entry", ec2.ModifyManagedPrefixListInput{RemoveEntries: []types.RemovePrefixListEntry{{Cidr: aws.String("203.0.113.0/24")}}}, "InvalidPrefixListModification"},
		{"add existing entry", ec2.ModifyManagedPrefixListInput{AddEntries: []types.AddPrefixListEntry{{Cidr: aws.String("10.1.0.0/16")}}}, "InvalidPrefixListModification"},
		{"reserved name", ec2.ModifyManagedPrefixListInput{PrefixListName: aws.String("com.amazonaws.mine")}, "InvalidParameterValue"},
		{"size out of range", ec2.ModifyManagedPrefixListInput{MaxEntries: aws.Int32(1001)}, "InvalidParameterValue"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, mod(tc.in), tc.code, s400) })
	}
	// A rename or a resize alone keeps the version (unverified, see
	// prefixlists.go).
	mustOK(t, mod(ec2.ModifyManagedPrefixListInput{MaxEntries: aws.Int32(8), PrefixListName: aws.String("corp-v2")}))
	d, err := e.ec2.DescribeManagedPrefixLists(ctx(t), &ec2.DescribeManagedPrefixListsInput{PrefixListIds: []string{id}})
	mustOK(t, err)
	if len(d.PrefixLists) != 1 || aws.ToString(d.PrefixLists[0].PrefixListName) != "corp-v2" || aws.ToInt32(d.PrefixLists[0].MaxEntries) != 8 || aws.ToInt64(d.PrefixLists[0].Version) != 2 {
		t.Errorf("after resize %+v", d.PrefixLists)
	}

	for _, tc := range []struct {
		name string
		in   ec2.CreateManagedPrefixListInput
		code string
	}{
		{"reserved name", ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("com.amazonaws.x"), MaxEntries: aws.Int32(1), AddressFamily: aws.String("IPv4")}, "InvalidParameterValue"},
		{"size 0", ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("x"), MaxEntries: aws.Int32(0), AddressFamily: aws.String("IPv4")}, "InvalidParameterValue"},
		{"family", ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("x"), MaxEntries: aws.Int32(1), AddressFamily: aws.String("ipv5")}, "InvalidParameterValue"},
		{"too many entries", ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("x"), MaxEntries: aws.Int32(1), AddressFamily: aws.String("IPv4"),
			Entries: []types.AddPrefixListEntry{{Cidr: aws.String("10.0.0.0/8")}, {Cidr: aws.String("11.0.0.0/8")}}}, "PrefixListMaxEntriesExceeded"},
		{"bad cidr", ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("x"), MaxEntries: aws.Int32(1), AddressFamily: aws.String("IPv6"),
			Entries: []types.AddPrefixListEntry{{Cidr: aws.String("10.0.0.0/8")}}}, "InvalidParameterValue"},
		{"dry run", ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("x"), MaxEntries: aws.Int32(1), AddressFamily: aws.String("IPv4"), DryRun: aws.Bool(true)}, "DryRunOperation"},
	} {
		t.Run("create "+tc.name, func(t *testing.T) {
			_, err := e.ec2.CreateManagedPrefixList(ctx(t), &tc.in)
			status := s400
			if tc.code == "DryRunOperation" {
				status = s412
			}
			wantErr(t, err, tc.code, status)
		})
	}
	// Required parameters the SDK would not let go out missing.
	for _, body := range []string{
		"MaxEntries=1&AddressFamily=IPv4", "PrefixListName=x&AddressFamily=IPv4", "PrefixListName=x&MaxEntries=1",
	} {
		if r := e.raw(t, "POST", "Action=CreateManagedPrefixList&Version=2016-11-15&"+body, nil); r.code != "MissingParameter" {
			t.Errorf("%s: %s", body, r.code)
		}
	}
	for _, action := range []string{"GetManagedPrefixListEntries", "ModifyManagedPrefixList", "DeleteManagedPrefixList"} {
		if r := e.raw(t, "POST", "Action="+action+"&Version=2016-11-15", nil); r.code != "MissingParameter" {
			t.Errorf("%s without PrefixListId: %s", action, r.code)
		}
	}
	// ClientToken: the same token answers with the same list.
	in := &ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("tok"), MaxEntries: aws.Int32(1), AddressFamily: aws.String("IPv4"), ClientToken: aws.String("t-1")}
	a, err := e.ec2.CreateManagedPrefixList(ctx(t), in)
	mustOK(t, err)
	b, err := e.ec2.CreateManagedPrefixList(ctx(t), in)
	mustOK(t, err)
	if aws.ToString(a.PrefixList.PrefixListId) != aws.ToString(b.PrefixList.PrefixListId) {
		t.Errorf("ClientToken made two lists")
	}

	_, err = e.ec2.GetManagedPrefixListEntries(ctx(t), &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String("pl-0123456789abcdef0")})
	wantErr(t, err, "InvalidPrefixListID.NotFound", s400)
	_, err = e.ec2.DescribeManagedPrefixLists(ctx(t), &ec2.DescribeManagedPrefixListsInput{PrefixListIds: []string{"pl-xyz"}})
	wantErr(t, err, "InvalidPrefixListId.Malformed", s400)
	_, err = e.ec2.DescribeManagedPrefixLists(ctx(t), &ec2.DescribeManagedPrefixListsInput{MaxResults: aws.Int32(101)})
	wantErr(t, err, "InvalidParameterValue", s400)
	_, err = e.ec2.DeleteManagedPrefixList(ctx(t), &ec2.DeleteManagedPrefixListInput{PrefixListId: aws.String(id)})
	mustOK(t, err)
	_, err = e.ec2.DeleteManagedPrefixList(ctx(t), &ec2.DeleteManagedPrefixListInput{PrefixListId: aws.String(id)})
	wantErr(t, err, "InvalidPrefixListID.NotFound", s400)
}

// AWS-managed lists exist in every account, owned by "AWS", and cannot be
// changed (VPC user guide, "AWS-managed prefix lists"; the code for a
// refused change is unverified).
func TestAWSManagedPrefixLists(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	out, err := e.ec2.DescribeManagedPrefixLists(ctx(t), &ec2.DescribeManagedPrefixListsInput{Filters: []types.Filter{{Name: aws.String("owner-id"), Values: []string{"AWS"}}}})
	mustOK(t, err)
	names := map[string]bool{}
	for _, pl := range out.PrefixLists {
		names[aws.ToString(pl.PrefixListName)] = true
	}
	for _, n := range []string{"com.amazonaws.us-east-1.s3", "com.amazonaws.us-east-1.dynamodb", "com.amazonaws.global.cloudfront.origin-facing"} {
		if !names[n] {
			t.Errorf("no AWS-managed list %s in %v", n, names)
		}
	}
	s3 := e.awsList("s3")
	// The same name in another region is another list.
	west, err := e.client("AKIDEXAMPLE", "us-west-2").DescribeManagedPrefixLists(ctx(t), &ec2.DescribeManagedPrefixListsInput{
		Filters: []types.Filter{{Name: aws.String("prefix-list-name"), Values: []string{"com.amazonaws.us-west-2.s3"}}}})
	mustOK(t, err)
	if len(west.PrefixLists) != 1 || aws.ToString(west.PrefixLists[0].PrefixListId) == s3 {
		t.Errorf("us-west-2 s3 list %+v", west.PrefixLists)
	}
	_, err = e.ec2.ModifyManagedPrefixList(ctx(t), &ec2.ModifyManagedPrefixListInput{PrefixListId: aws.String(s3), PrefixListName: aws.String("mine")})
	wantErr(t, err, "InvalidPrefixListModification", s400)
	_, err = e.ec2.DeleteManagedPrefixList(ctx(t), &ec2.DeleteManagedPrefixListInput{PrefixListId: aws.String(s3)})
	wantErr(t, err, "InvalidPrefixListModification", s400)
	ent, err := e.ec2.GetManagedPrefixListEntries(ctx(t), &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String(s3)})
	mustOK(t, err)
	if len(ent.Entries) == 0 {
		t.Errorf("AWS-managed list without entries")
	}
}

// Rules that reference a prefix list: the list must exist
// (InvalidPrefixListID.NotFound, EC2 API reference error codes), and it
// counts against the rule quota as its MaxEntries when customer-managed,
// as its documented weight when AWS-managed (reference §4;
// awsdocs/amazon-vpc-user-guide#72; VPC user guide, "AWS-managed prefix
// list weight").
// A resize that would take a referencing group over its quota is refused;
// deleting a referenced list leaves it in delete-failed
// (hashicorp/terraform-provider-aws#20991).
func TestPrefixListRules(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	ec2sim.SetLimitsForTest(e.sim, 10, 100, 50, 5, false)
	g := e.createGroup("web", "")
	_, err := e.authorize(g, plRule("pl-0123456789abcdef0"))
	wantErr(t, err, "InvalidPrefixListID.NotFound", s400)
	_, err = e.ec2.ModifySecurityGroupRules(ctx(t), &ec2.ModifySecurityGroupRulesInput{GroupId: aws.String(g), SecurityGroupRules: []types.SecurityGroupRuleUpdate{{
		SecurityGroupRuleId: aws.String("sgr-0123456789abcdef0"),
		SecurityGroupRule:   &types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1), PrefixListId: aws.String("pl-0123456789abcdef0")}}}})
	wantErr(t, err, "InvalidPrefixListID.NotFound", s400)

	big := aws.ToString(e.createPL("big", 8).PrefixListId)
	small := aws.ToString(e.createPL("small", 2).PrefixListId)
	_, err = e.authorize(g, plRule(big)) // 8 of 10
	mustOK(t, err)
	_, err = e.authorize(g, plRule(small)) // 10 of 10
	mustOK(t, err)
	_, err = e.authorize(g, tcp(22, 22, "10.0.0.0/8")) // 11
	wantErr(t, err, "RulesPerSecurityGroupLimitExceeded", s400)
	_, err = e.ec2.ModifyManagedPrefixList(ctx(t), &ec2.ModifyManagedPrefixListInput{PrefixListId: aws.String(small), MaxEntries: aws.Int32(3)})
	wantErr(t, err, "RulesPerSecurityGroupLimitExceeded", s400)
	// Changing a rule to name a larger list is checked against the quota
	// too: small's rule naming big instead would make 8 + 8.
	rs := e.rules(g, false)
	var smallRule *string
	for _, r := range rs {
		if aws.ToString(r.PrefixListId) == small {
			smallRule = r.SecurityGroupRuleId
		}
	}
	_, err = e.ec2.ModifySecurityGroupRules(ctx(t), &ec2.ModifySecurityGroupRulesInput{GroupId: aws.String(g), SecurityGroupRules: []types.SecurityGroupRuleUpdate{{
		SecurityGroupRuleId: smallRule,
		SecurityGroupRule:   &types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(444), ToPort: aws.Int32(444), PrefixListId: aws.String(big)}}}})
	wantErr(t, err, "RulesPerSecurityGroupLimitExceeded", s400)
	_, err = e.ec2.RevokeSecurityGroupIngress(ctx(t), &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(g), IpPermissions: []types.IpPermission{plRule(small)}})
	mustOK(t, err)
	// An AWS-managed list weighs its documented weight (VPC user guide,
	// "AWS-managed prefix list weight"): DynamoDB's 1, room for it after
	// revoking small (9 of 10); CloudFront's origin-facing list 55, no room.
	_, err = e.authorize(g, plRule(e.awsList("dynamodb")))
	mustOK(t, err)
	cf, err := e.ec2.DescribeManagedPrefixLists(ctx(t), &ec2.DescribeManagedPrefixListsInput{
		Filters: []types.Filter{{Name: aws.String("prefix-list-name"), Values: []string{"com.amazonaws.global.cloudfront.origin-facing"}}}})
	mustOK(t, err)
	if len(cf.PrefixLists) != 1 {
		t.Fatalf("CloudFront's list: %+v", cf.PrefixLists)
	}
	_, err = e.authorize(g, plRule(aws.ToString(cf.PrefixLists[0].PrefixListId)))
	wantErr(t, err, "RulesPerSecurityGroupLimitExceeded", s400)

	d, err := e.ec2.DeleteManagedPrefixList(ctx(t), &ec2.DeleteManagedPrefixListInput{PrefixListId: aws.String(big)})
	mustOK(t, err)
	if d.PrefixList.State != types.PrefixListStateDeleteFailed {
		t.Errorf("deleting a referenced list: state %s", d.PrefixList.State)
	}
	_, err = e.ec2.GetManagedPrefixListEntries(ctx(t), &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String(big)})
	mustOK(t, err)
	d, err = e.ec2.DeleteManagedPrefixList(ctx(t), &ec2.DeleteManagedPrefixListInput{PrefixListId: aws.String(small)})
	mustOK(t, err)
	if d.PrefixList.State != types.PrefixListStateDeleteComplete {
		t.Errorf("deleting an unused list: state %s", d.PrefixList.State)
	}
}

// Prefix lists survive a restart through the journal.
func TestPrefixListPersisted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ec2.json")
	e := newEnv(t, ec2sim.Options{StateFile: path})
	id := aws.ToString(e.createPL("kept", 3, "10.0.0.0/8").PrefixListId)
	_, err := e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{tag("team", "net")}})
	mustOK(t, err)
	again := newEnv(t, ec2sim.Options{StateFile: path})
	out, err := again.ec2.DescribeManagedPrefixLists(ctx(t), &ec2.DescribeManagedPrefixListsInput{PrefixListIds: []string{id}})
	mustOK(t, err)
	if len(out.PrefixLists) != 1 || len(out.PrefixLists[0].Tags) != 1 || aws.ToInt32(out.PrefixLists[0].MaxEntries) != 3 {
		t.Errorf("reloaded %+v", out.PrefixLists)
	}
}
