package ec2client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/palisadehq/palisade/ec2sim"
)

// startSim serves the local EC2 endpoint (which answers STS too).
func startSim(t *testing.T) (*ec2sim.Sim, string) {
	t.Helper()
	sim, err := ec2sim.New(ec2sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.Handler(sim))
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

// TestAssumeRolePerAccount: with a role template, each account's calls run
// on the role assumed in that account (the local endpoint answers STS and
// acts as the account the credentials name), one AssumeRole per account
// whatever the number of regions, and the accounts see only their own
// groups.
func TestAssumeRolePerAccount(t *testing.T) {
	sim, url := startSim(t)
	f, err := New(context.Background(), Options{Endpoint: url,
		AssumeRole: "arn:aws:iam::{account}:role/ops/palisade", ExternalID: "palisade-test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	accounts := []string{"111122223333", "444455556666"}
	ids := map[string]string{}
	for _, account := range accounts {
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			out, err := f.Client(account, region).CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
				GroupName: aws.String("web-" + account), Description: aws.String("role test")})
			if err != nil {
				t.Fatalf("%s %s: %v", account, region, err)
			}
			ids[account+region] = aws.ToString(out.GroupId)
		}
	}
	assumed := map[string]int{}
	for _, c := range sim.CallLog() {
		switch c.Action {
		case "AssumeRole":
			assumed[c.Region]++
		case "CreateSecurityGroup":
			if !strings.HasPrefix(ids[c.Account+c.Region], "sg-") || c.GroupID != ids[c.Account+c.Region] {
				t.Errorf("group %s was created in account %s %s, not the one its client names", c.GroupID, c.Account, c.Region)
			}
		}
	}
	if n := assumed["us-east-1"]; n != len(accounts) || len(assumed) != 1 {
		t.Errorf("AssumeRole calls by region: %v, want %d in us-east-1 (once per account)", assumed, len(accounts))
	}
	// The second account does not see the first one's group.
	out, err := f.Client(accounts[1], "us-east-1").DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
		Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"web-" + accounts[0]}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecurityGroups) != 0 {
		t.Fatalf("account %s sees %s's group", accounts[1], accounts[0])
	}
}

// TestAssumeRoleRefused: an AssumeRole that STS refuses (here an external
// id too short) fails the EC2 call with STS's error code, and the call
// never reaches EC2.
func TestAssumeRoleRefused(t *testing.T) {
	sim, url := startSim(t)
	f, err := New(context.Background(), Options{Endpoint: url, AssumeRole: "arn:aws:iam::{account}:role/palisade", ExternalID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Client("111122223333", "us-east-1").DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationError" || !strings.Contains(apiErr.ErrorMessage(), "externalId") {
		t.Fatalf("EC2 call answered %v, want STS's ValidationError naming externalId", err)
	}
	for _, c := range sim.CallLog() {
		if c.Action != "AssumeRole" {
			t.Errorf("%s reached EC2 without credentials", c.Action)
		}
	}
}

// TestRoleTemplateChecked: a template that is not a role ARN, or would
// make every account one, is refused with the template in the error.
func TestRoleTemplateChecked(t *testing.T) {
	for _, bad := range []string{
		"arn:aws:iam::111122223333:role/palisade", // no placeholder: every account would be one
		"palisade",
		"arn:aws:iam::{account}:user/palisade",
		"arn:aws:s3:::{account}",
	} {
		if _, err := New(context.Background(), Options{AssumeRole: bad}); err == nil {
			t.Errorf("template %q accepted", bad)
		} else if !strings.Contains(err.Error(), bad) {
			t.Errorf("error %q does not name the template %q", err, bad)
		}
	}
	for _, good := range []string{"arn:aws:iam::{account}:role/palisade", "arn:aws-us-gov:iam::{account}:role/path/to/palisade"} {
		if err := CheckRoleTemplate(good); err != nil {
			t.Errorf("template %q refused: %v", good, err)
		}
	}
}
