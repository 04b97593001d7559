package difftest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// cliRun runs `aws ec2 <args> --endpoint-url url --output json` and returns
// stdout, stderr and the exit code.
func cliRun(t *testing.T, bin, url string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	// Bounded so that a hung CLI fails the test instead of blocking it.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"ec2"}, args...)
	full = append(full, "--endpoint-url", url, "--output", "json")
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = cliEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// cliJSON runs a command that must succeed and decodes its JSON output.
func cliJSON(t *testing.T, bin, url string, into any, args ...string) {
	t.Helper()
	stdout, stderr, code := cliRun(t, bin, url, args...)
	if code != 0 {
		t.Fatalf("aws ec2 %s: exit %d\nstderr: %s", args[0], code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), into); err != nil {
		t.Fatalf("aws ec2 %s: output is not the expected JSON: %v\n%s", args[0], err, stdout)
	}
}

// The CLI's JSON output shapes, as far as the seed lab reads them.
type cliIPRange struct {
	CidrIp      string
	Description string `json:",omitempty"`
}

type cliPermission struct {
	IpProtocol string
	FromPort   *int
	ToPort     *int
	IpRanges   []cliIPRange
	// The remaining sources must be empty for the seed's rule; the CLI
	// prints them as empty lists or leaves them out, both decode to nil
	// or empty here and are compared by length.
	Ipv6Ranges       []json.RawMessage
	PrefixListIds    []json.RawMessage
	UserIdGroupPairs []json.RawMessage
}

type cliGroup struct {
	GroupId             string
	GroupName           string
	Description         string
	VpcId               string
	OwnerId             string
	IpPermissions       []cliPermission
	IpPermissionsEgress []cliPermission
}

type cliRule struct {
	SecurityGroupRuleId string
	GroupId             string
	IsEgress            bool
	IpProtocol          string
	FromPort            int
	ToPort              int
	CidrIpv4            string
}

// seedCIDRs are the sources of the seed lab's rule (TCP 21-80) from the internet and from
// a private range (the seed text lost its CIDRs; these stand in for them).
var seedCIDRs = []string{"0.0.0.0/0", "10.0.0.0/16"}

const (
	seedShorthand = "IpProtocol=tcp,FromPort=21,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0},{CidrIp=10.0.0.0/16}]"
	seedJSON      = `[{"IpProtocol":"tcp","FromPort":21,"ToPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"},{"CidrIp":"10.0.0.0/16"}]}]`
)

// TestAWSCLISeedLab runs the seed lab's AWS CLI commands unchanged, apart
// from --endpoint-url, against ec2sim and checks what a user would read.
func TestAWSCLISeedLab(t *testing.T) {
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not found on PATH; install awscli to run the seed lab against ec2sim")
	}
	url := cliEndpoint(t)

	// Step 1 of the lab: create the group in the default VPC.
	var created struct{ GroupId, SecurityGroupArn string }
	cliJSON(t, bin, url, &created, "create-security-group",
		"--group-name", "ftp-sg", "--description", "Rules for FTP traffic")
	if !validID(created.GroupId, "sg-") {
		t.Fatalf("create-security-group: GroupId %q is not an sg- id", created.GroupId)
	}

	// Step 3: the ingress rule in shorthand syntax.
	var authorized struct {
		Return             bool
		SecurityGroupRules []cliRule
	}
	cliJSON(t, bin, url, &authorized, "authorize-security-group-ingress",
		"--group-id", created.GroupId, "--ip-permissions", seedShorthand)
	if !authorized.Return {
		t.Errorf("authorize-security-group-ingress: Return = false")
	}
	var cidrs []string
	for _, r := range authorized.SecurityGroupRules {
		if !validID(r.SecurityGroupRuleId, "sgr-") || r.GroupId != created.GroupId || r.IsEgress ||
			r.IpProtocol != "tcp" || r.FromPort != 21 || r.ToPort != 80 {
			t.Errorf("authorize-security-group-ingress: unexpected rule %+v", r)
		}
		cidrs = append(cidrs, r.CidrIpv4)
	}
	sort.Strings(cidrs)
	if !reflect.DeepEqual(cidrs, seedCIDRs) {
		t.Errorf("authorize-security-group-ingress: one rule per CIDR wanted, got CIDRs %v", cidrs)
	}

	// The lab's check: describe the group and see the rule.
	g := cliDescribeOne(t, bin, url, created.GroupId)
	if g.GroupName != "ftp-sg" || g.Description != "Rules for FTP traffic" || !validID(g.VpcId, "vpc-") || g.OwnerId != accountID {
		t.Errorf("describe-security-groups: group = %s %q vpc=%s owner=%s", g.GroupName, g.Description, g.VpcId, g.OwnerId)
	}
	checkSeedPermissions(t, "shorthand", g.IpPermissions)
	if len(g.IpPermissionsEgress) != 1 || g.IpPermissionsEgress[0].IpProtocol != "-1" ||
		len(g.IpPermissionsEgress[0].IpRanges) != 1 || g.IpPermissionsEgress[0].IpRanges[0].CidrIp != "0.0.0.0/0" {
		t.Errorf("describe-security-groups: want the default egress rule (all traffic to 0.0.0.0/0), got %+v", g.IpPermissionsEgress)
	}

	// The same rule in the CLI's JSON form, on a second group, must come
	// out the same.
	var created2 struct{ GroupId string }
	cliJSON(t, bin, url, &created2, "create-security-group",
		"--group-name", "ftp-sg-json", "--description", "Rules for FTP traffic")
	cliJSON(t, bin, url, &authorized, "authorize-security-group-ingress",
		"--group-id", created2.GroupId, "--ip-permissions", seedJSON)
	if !authorized.Return || len(authorized.SecurityGroupRules) != 2 {
		t.Errorf("authorize-security-group-ingress (JSON): Return=%v with %d rules, want true with 2",
			authorized.Return, len(authorized.SecurityGroupRules))
	}
	g2 := cliDescribeOne(t, bin, url, created2.GroupId)
	checkSeedPermissions(t, "JSON", g2.IpPermissions)

	// Running step 1 again is the lab's most common mistake: the CLI must
	// fail the way it fails against EC2.
	_, stderr, code := cliRun(t, bin, url, "create-security-group",
		"--group-name", "ftp-sg", "--description", "Rules for FTP traffic")
	if code != 254 && code != 255 {
		t.Errorf("create-security-group (duplicate): exit code %d, want 254 (CLI v2) or 255 (CLI v1)", code)
	}
	if !strings.Contains(stderr, "An error occurred (InvalidGroup.Duplicate) when calling the CreateSecurityGroup operation") {
		t.Errorf("create-security-group (duplicate): stderr lacks the InvalidGroup.Duplicate error:\n%s", stderr)
	}
}

func cliDescribeOne(t *testing.T, bin, url, id string) cliGroup {
	t.Helper()
	var described struct{ SecurityGroups []cliGroup }
	cliJSON(t, bin, url, &described, "describe-security-groups", "--group-ids", id)
	if len(described.SecurityGroups) != 1 || described.SecurityGroups[0].GroupId != id {
		t.Fatalf("describe-security-groups --group-ids %s: got %+v", id, described.SecurityGroups)
	}
	return described.SecurityGroups[0]
}

// checkSeedPermissions checks that DescribeSecurityGroups shows the seed
// rule as one permission (tcp 21-80) carrying both CIDRs.
func checkSeedPermissions(t *testing.T, form string, perms []cliPermission) {
	t.Helper()
	if len(perms) != 1 {
		t.Errorf("%s: want one permission, got %+v", form, perms)
		return
	}
	p := perms[0]
	if p.IpProtocol != "tcp" || p.FromPort == nil || *p.FromPort != 21 || p.ToPort == nil || *p.ToPort != 80 {
		t.Errorf("%s: permission = %s %v-%v, want tcp 21-80", form, p.IpProtocol, deref(p.FromPort), deref(p.ToPort))
	}
	var cidrs []string
	for _, r := range p.IpRanges {
		cidrs = append(cidrs, r.CidrIp)
	}
	sort.Strings(cidrs)
	if !reflect.DeepEqual(cidrs, seedCIDRs) {
		t.Errorf("%s: IpRanges = %v, want %v", form, cidrs, seedCIDRs)
	}
	if len(p.Ipv6Ranges)+len(p.PrefixListIds)+len(p.UserIdGroupPairs) != 0 {
		t.Errorf("%s: unexpected extra sources in %+v", form, p)
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
