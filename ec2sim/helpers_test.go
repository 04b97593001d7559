package ec2sim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/palisadehq/palisade/ec2sim"
)

// env is one simulator behind a real HTTP server on 127.0.0.1:0.
type env struct {
	t   testing.TB
	sim *ec2sim.Sim
	url string
	ec2 *ec2.Client // default account, us-east-1, no retries
}

func newEnv(t testing.TB, opts ec2sim.Options) *env {
	t.Helper()
	sim, err := ec2sim.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	e := &env{t: t, sim: sim, url: srv.URL}
	e.ec2 = e.client("AKIDEXAMPLE", "us-east-1")
	return e
}

// client builds the ec2 client production uses, pointed at the simulator,
// with retries off so the first answer is the one asserted.
func (e *env) client(accessKey, region string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       region,
		BaseEndpoint: aws.String(e.url),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, "secret", ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   sdkHTTPClient(),
	})
}

// sdkHTTPClient works around a race in smithy-go v1.28.9, not in the
// simulator: the SDK closes the request body once the response is in, and
// its closed body's WriteTo then returns io.EOF, which net/http's request
// writer (still probing the body for extra bytes) takes as a write error and
// closes the connection mid-response. Against a fast local endpoint a
// response of a few tens of kilobytes loses that race often. Hiding WriteTo
// makes a closed body read as a clean EOF.
func sdkHTTPClient() *http.Client {
	return &http.Client{Transport: hideWriteTo{http.DefaultTransport.(*http.Transport).Clone()}}
}

type hideWriteTo struct{ next http.RoundTripper }

func (h hideWriteTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = readOnlyBody{r.Body}
	}
	return h.next.RoundTrip(r)
}

type readOnlyBody struct{ io.ReadCloser }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// apiErr returns the EC2 code and HTTP status of err ("" and 0 for nil).
func apiErr(t testing.TB, err error) (string, int) {
	t.Helper()
	if err == nil {
		return "", 0
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("no HTTP response in error: %v", err)
	}
	if re.ServiceRequestID() == "" {
		t.Errorf("error %s carries no request id", ae.ErrorCode())
	}
	return ae.ErrorCode(), re.HTTPStatusCode()
}

// wantErr asserts an EC2 error code and status.
func wantErr(t testing.TB, err error, code string, status int) {
	t.Helper()
	gotCode, gotStatus := apiErr(t, err)
	if gotCode != code || gotStatus != status {
		t.Fatalf("got %q (HTTP %d), want %q (HTTP %d); err=%v", gotCode, gotStatus, code, status, err)
	}
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// createGroup makes a group in the default VPC (or vpcID) and returns its id.
func (e *env) createGroup(name, vpcID string) string {
	e.t.Helper()
	in := &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String("test group " + name)}
	if vpcID != "" {
		in.VpcId = aws.String(vpcID)
	}
	out, err := e.ec2.CreateSecurityGroup(ctx(e.t), in)
	mustOK(e.t, err)
	return aws.ToString(out.GroupId)
}

func (e *env) createVpc(cidr string, ipv6 bool) string {
	e.t.Helper()
	out, err := e.ec2.CreateVpc(ctx(e.t), &ec2.CreateVpcInput{CidrBlock: aws.String(cidr), AmazonProvidedIpv6CidrBlock: aws.Bool(ipv6)})
	mustOK(e.t, err)
	return aws.ToString(out.Vpc.VpcId)
}

func (e *env) group(id string) types.SecurityGroup {
	e.t.Helper()
	out, err := e.ec2.DescribeSecurityGroups(ctx(e.t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	mustOK(e.t, err)
	if len(out.SecurityGroups) != 1 {
		e.t.Fatalf("describe %s: %d groups", id, len(out.SecurityGroups))
	}
	return out.SecurityGroups[0]
}

// rules returns the group's rules in one direction.
func (e *env) rules(groupID string, egress bool) []types.SecurityGroupRule {
	e.t.Helper()
	out, err := e.ec2.DescribeSecurityGroupRules(ctx(e.t), &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{groupID}}},
	})
	mustOK(e.t, err)
	var rs []types.SecurityGroupRule
	for _, r := range out.SecurityGroupRules {
		if aws.ToBool(r.IsEgress) == egress {
			rs = append(rs, r)
		}
	}
	return rs
}

func tcp(from, to int32, cidrs ...string) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(from), ToPort: aws.Int32(to)}
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c)})
	}
	return p
}

func (e *env) authorize(groupID string, perms ...types.IpPermission) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	return e.ec2.AuthorizeSecurityGroupIngress(ctx(e.t), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: perms})
}

const (
	s400 = http.StatusBadRequest
	s401 = http.StatusUnauthorized
	s412 = http.StatusPreconditionFailed
	s500 = http.StatusInternalServerError
	s503 = http.StatusServiceUnavailable
)

func validID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != 17 {
		return false
	}
	return strings.Trim(rest, "0123456789abcdef") == ""
}

// wantErrMsg asserts a 400 with the code and a message naming want.
func wantErrMsg(t testing.TB, err error, code, want string) {
	t.Helper()
	wantErr(t, err, code, s400)
	var ae smithy.APIError
	if errors.As(err, &ae) && !strings.Contains(ae.ErrorMessage(), want) {
		t.Fatalf("message %q does not name %q", ae.ErrorMessage(), want)
	}
}

// awsList returns the id of the region's AWS-managed prefix list
// com.amazonaws.us-east-1.<service>.
func (e *env) awsList(service string) string {
	e.t.Helper()
	out, err := e.ec2.DescribeManagedPrefixLists(ctx(e.t), &ec2.DescribeManagedPrefixListsInput{
		Filters: []types.Filter{{Name: aws.String("prefix-list-name"), Values: []string{"com.amazonaws.us-east-1." + service}}}})
	mustOK(e.t, err)
	if len(out.PrefixLists) != 1 {
		e.t.Fatalf("AWS-managed list %s: %+v", service, out.PrefixLists)
	}
	return aws.ToString(out.PrefixLists[0].PrefixListId)
}
