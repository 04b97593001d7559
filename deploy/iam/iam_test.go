// Package iam_test holds the IAM policies of deploy/iam to the AWS calls
// the code makes: the workers' role may call exactly what Palisade calls.
package iam_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/palisadehq/palisade/internal/ec2client"
)

const (
	ec2Pkg      = "github.com/aws/aws-sdk-go-v2/service/ec2"
	stsPkg      = "github.com/aws/aws-sdk-go-v2/service/sts"
	stscredsPkg = "github.com/aws/aws-sdk-go-v2/credentials/stscreds"
)

// codeDirs are the parts of the module that run against AWS; ec2sim,
// the test stack and the tests answer or drive those calls, they do not
// make them as Palisade.
var codeDirs = []string{"cmd", "services", "workers", "internal"}

// TestPolicyMatchesCode: the actions the per-account role's policy and
// the workers' own role's policy allow are exactly those the code calls.
func TestPolicyMatchesCode(t *testing.T) {
	code := map[string]bool{}
	for _, d := range codeDirs {
		err := filepath.WalkDir(filepath.Join("../..", d), func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			found, err := awsActions(path, src)
			for _, a := range found {
				code[a] = true
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !code["ec2:AuthorizeSecurityGroupIngress"] || !code["sts:AssumeRole"] {
		t.Fatalf("the walk found %v: it misses calls the code is known to make", sorted(code))
	}
	allowed := map[string]bool{}
	for _, f := range []string{"account-role-policy.json", "worker-role-policy.json"} {
		for _, a := range policyActions(t, f) {
			allowed[a] = true
		}
	}
	for a := range code {
		if !allowed[a] {
			t.Errorf("the code calls %s, which no policy in deploy/iam allows", a)
		}
	}
	for a := range allowed {
		if !code[a] {
			t.Errorf("deploy/iam allows %s, which the code never calls: least privilege takes it out", a)
		}
	}
	t.Logf("actions: %v", sorted(code))
}

// TestAccountRoleTrust: the per-account role trusts the workers' role
// alone, asks for the external id, and names the session the code opens.
func TestAccountRoleTrust(t *testing.T) {
	p := readPolicy(t, "account-role-trust-policy.json")
	if len(p.Statement) != 1 {
		t.Fatalf("%d statements, want 1", len(p.Statement))
	}
	s := p.Statement[0]
	if s.Effect != "Allow" || !slices.Equal(s.Action, []string{"sts:AssumeRole"}) {
		t.Errorf("effect %s, actions %v: want Allow of sts:AssumeRole", s.Effect, s.Action)
	}
	var principal struct{ AWS string }
	if err := json.Unmarshal(s.Principal, &principal); err != nil || !strings.HasSuffix(principal.AWS, ":role/palisade-worker") {
		t.Errorf("principal %s (%v): want the workers' role", s.Principal, err)
	}
	var cond struct {
		StringEquals map[string]string
	}
	if err := json.Unmarshal(s.Condition, &cond); err != nil {
		t.Fatalf("condition: %v", err)
	}
	if cond.StringEquals["sts:ExternalId"] == "" {
		t.Error("no sts:ExternalId condition: any principal of the workers' account could confuse the deputy")
	}
	if got := cond.StringEquals["sts:RoleSessionName"]; got != ec2client.SessionName {
		t.Errorf("sts:RoleSessionName %q, want %q (the session the code opens)", got, ec2client.SessionName)
	}
}

// TestAwsActionsFindsCalls: the walk sees inputs under any import name,
// paginators, tags set on creation and assumed roles, and nothing in
// other packages of the same name.
func TestAwsActionsFindsCalls(t *testing.T) {
	src := `package x
import (
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"example.com/other/sts"
)
func f() {
	c.RevokeSecurityGroupEgress(ctx, &awsec2.RevokeSecurityGroupEgressInput{})
	awsec2.NewDescribeVpcsPaginator(c, &awsec2.DescribeVpcsInput{})
	_ = awsec2.CreateSecurityGroupInput{TagSpecifications: nil}
	stscreds.NewAssumeRoleProvider(nil, "arn")
	_ = sts.GetCallerIdentityInput{}
}`
	got, err := awsActions("x.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	got = slices.Compact(got)
	want := []string{"ec2:CreateSecurityGroup", "ec2:CreateTags", "ec2:DescribeVpcs", "ec2:RevokeSecurityGroupEgress", "sts:AssumeRole"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := awsActions("bad.go", []byte("package")); err == nil {
		t.Error("no error for a file that does not parse")
	}
}

// awsActions are the IAM actions the Go file src calls: every
// <Action>Input of the ec2 and sts clients it builds, ec2:CreateTags for
// tags set on creation (TagSpecifications), and sts:AssumeRole for an
// stscreds assume-role provider.
func awsActions(name string, src []byte) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	service := map[string]string{} // import name -> IAM service prefix
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		local := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			local = imp.Name.Name
		}
		switch path {
		case ec2Pkg:
			service[local] = "ec2"
		case stsPkg:
			service[local] = "sts"
		case stscredsPkg:
			service[local] = "stscreds"
		}
	}
	var actions []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			pkg, ok := n.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch svc := service[pkg.Name]; {
			case svc == "stscreds" && n.Sel.Name == "NewAssumeRoleProvider":
				actions = append(actions, "sts:AssumeRole")
			case (svc == "ec2" || svc == "sts") && strings.HasSuffix(n.Sel.Name, "Input"):
				actions = append(actions, svc+":"+strings.TrimSuffix(n.Sel.Name, "Input"))
			}
		case *ast.CompositeLit:
			sel, ok := n.Type.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || service[pkg.Name] != "ec2" {
				return true
			}
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "TagSpecifications" {
						actions = append(actions, "ec2:CreateTags")
					}
				}
			}
		}
		return true
	})
	return actions, nil
}

type policy struct {
	Version   string
	Statement []statement
}

type statement struct {
	Sid       string
	Effect    string
	Action    stringList
	Resource  stringList
	Principal json.RawMessage
	Condition json.RawMessage
}

// stringList is IAM's "one string or a list of them".
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

func readPolicy(t *testing.T, file string) policy {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var p policy
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if p.Version != "2012-10-17" {
		t.Errorf("%s: Version %q, want 2012-10-17", file, p.Version)
	}
	return p
}

// policyActions are the actions file allows; no wildcard and no Deny
// (least privilege is what is allowed, not what is carved out).
func policyActions(t *testing.T, file string) []string {
	t.Helper()
	var actions []string
	for _, s := range readPolicy(t, file).Statement {
		if s.Effect != "Allow" {
			t.Errorf("%s: statement %s has effect %q", file, s.Sid, s.Effect)
		}
		if len(s.Resource) == 0 {
			t.Errorf("%s: statement %s names no resource", file, s.Sid)
		}
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				t.Errorf("%s: statement %s allows the wildcard %s", file, s.Sid, a)
			}
			actions = append(actions, a)
		}
	}
	return actions
}

func sorted(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}
