package ec2sim_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/palisadehq/palisade/ec2sim"
)

type rawResp struct {
	status    int
	header    http.Header
	body      string
	code      string // error code, "" on success
	requestID string // <RequestID> of an error
}

// raw sends a hand-built Query request, for what the SDK would never send.
func (e *env) raw(t *testing.T, method, body string, header map[string]string) rawResp {
	t.Helper()
	u := e.url + "/"
	var rd io.Reader
	if method == http.MethodGet {
		u += "?" + body
	} else {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx(t), method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := rawResp{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if resp.StatusCode != http.StatusOK {
		var x struct {
			Errors struct {
				Error struct{ Code, Message string }
			}
			RequestID string `xml:"RequestID"`
		}
		if err := xml.Unmarshal(b, &x); err != nil {
			t.Fatalf("error body is not EC2 XML: %v\n%s", err, b)
		}
		r.code, r.requestID = x.Errors.Error.Code, x.RequestID
	}
	return r
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	const ver = "Version=2016-11-15&"
	cases := []struct {
		name   string
		method string
		body   string
		header map[string]string
		code   string
		status int
	}{
		{"unknown action", "POST", ver + "Action=RunInstances", nil, "InvalidAction", 400},
		{"missing action", "POST", ver, nil, "MissingAction", 400},
		{"missing version", "POST", "Action=DescribeVpcs", nil, "MissingParameter", 400},
		{"other version", "POST", "Action=DescribeVpcs&Version=2014-10-01", nil, "NoSuchVersion", 400},
		{"unknown parameter", "POST", ver + "Action=DescribeVpcs&Colour=red", nil, "UnknownParameter", 400},
		{"GroupId where none is taken", "POST", ver + "Action=CreateSecurityGroup&GroupName=g&GroupDescription=d&GroupId=sg-12345678", nil, "UnknownParameter", 400},
		{"awsQuery member list", "POST", ver + "Action=DescribeSecurityGroups&GroupId.member.1=sg-12345678", nil, "UnknownParameter", 400},
		{"zero list index", "POST", ver + "Action=DescribeSecurityGroups&GroupId.0=sg-12345678", nil, "UnknownParameter", 400},
		{"padded list index", "POST", ver + "Action=DescribeSecurityGroups&GroupId.01=sg-12345678", nil, "UnknownParameter", 400},
		{"scalar where a structure goes", "POST", ver + "Action=AuthorizeSecurityGroupIngress&GroupId=sg-12345678&IpPermissions.1=tcp", nil, "UnknownParameter", 400},
		{"egress takes no GroupName", "POST", ver + "Action=AuthorizeSecurityGroupEgress&GroupName=x&IpPermissions.1.IpProtocol=-1&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0", nil, "UnknownParameter", 400},
		{"very deep key", "POST", ver + "Action=DescribeVpcs&a.b.c.d.e.f.g.h.i.j=1", nil, "UnknownParameter", 400},
		{"bad escape", "POST", ver + "Action=DescribeVpcs&x=%zz", nil, "MalformedQueryString", 400},
		{"bad escape in query", "GET", ver + "Action=DescribeVpcs&x=%zz", nil, "MalformedQueryString", 400},
		{"repeated key", "POST", ver + "Action=DescribeVpcs&Action=DescribeVpcs", nil, "MalformedQueryString", 400},
		{"PUT", "PUT", ver + "Action=DescribeVpcs", nil, "InvalidAction", 400},
		{"not integer", "POST", ver + "Action=DescribeVpcs&MaxResults=ten", nil, "InvalidParameterValue", 400},
		{"legacy port not integer", "POST", ver + "Action=AuthorizeSecurityGroupIngress&GroupName=default&IpProtocol=tcp&FromPort=x&ToPort=1&CidrIp=10.0.0.0/8", nil, "InvalidParameterValue", 400},
		{"permission port not integer", "POST", ver + "Action=AuthorizeSecurityGroupIngress&GroupName=default&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=1&IpPermissions.1.ToPort=1.5", nil, "InvalidParameterValue", 400},
		{"not boolean", "POST", ver + "Action=DescribeVpcs&DryRun=maybe", nil, "InvalidParameterValue", 400},
		{"create without name", "POST", ver + "Action=CreateSecurityGroup&GroupDescription=d", nil, "MissingParameter", 400},
		{"create without description", "POST", ver + "Action=CreateSecurityGroup&GroupName=g", nil, "MissingParameter", 400},
		{"not SigV4", "POST", ver + "Action=DescribeVpcs", map[string]string{"Authorization": "Basic dXNlcjpwdw=="}, "AuthFailure", 401},
		{"bad credential scope", "POST", ver + "Action=DescribeVpcs", map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20240101/US EAST/ec2/aws4_request, SignedHeaders=host, Signature=00"}, "AuthFailure", 401},
		{"handler panic", "POST", ver + "Action=" + ec2sim.PanicAction, nil, "InternalError", 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.raw(t, tc.method, tc.body, tc.header)
			if r.code != tc.code || r.status != tc.status {
				t.Fatalf("got %q (HTTP %d), want %q (HTTP %d)\n%s", r.code, r.status, tc.code, tc.status, r.body)
			}
			if r.requestID == "" || r.header.Get("x-amzn-RequestId") != r.requestID {
				t.Errorf("RequestID %q, header %q", r.requestID, r.header.Get("x-amzn-RequestId"))
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/xml") {
				t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
			}
			if !strings.HasPrefix(r.body, `<?xml version="1.0" encoding="UTF-8"?>`) || !strings.Contains(r.body, "<Response><Errors><Error><Code>") {
				t.Errorf("error body shape: %s", r.body)
			}
		})
	}
	t.Run("oversized body", func(t *testing.T) {
		r := e.raw(t, "POST", ver+"Action=DescribeVpcs&x="+strings.Repeat("a", ec2sim.MaxBodyBytes), nil)
		if r.code != "MalformedQueryString" || r.status != 400 {
			t.Fatalf("got %q (HTTP %d)", r.code, r.status)
		}
	})
}

func TestSuccessShape(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	r := e.raw(t, "POST", "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=g&GroupDescription=d", nil)
	if r.status != 200 {
		t.Fatalf("HTTP %d: %s", r.status, r.body)
	}
	var x struct {
		XMLName   xml.Name
		RequestID string `xml:"requestId"`
		Return    bool   `xml:"return"`
		GroupID   string `xml:"groupId"`
	}
	if err := xml.Unmarshal([]byte(r.body), &x); err != nil {
		t.Fatal(err)
	}
	if x.XMLName.Local != "CreateSecurityGroupResponse" || x.XMLName.Space != "http://ec2.amazonaws.com/doc/2016-11-15/" {
		t.Errorf("root %+v", x.XMLName)
	}
	if x.RequestID == "" || r.header.Get("X-Amzn-Requestid") != x.RequestID || !x.Return || !validID(x.GroupID, "sg-") {
		t.Errorf("body %+v, header id %q", x, r.header.Get("X-Amzn-Requestid"))
	}
	if strings.Contains(r.body, "CreateSecurityGroupResult") || strings.Contains(r.body, "ResponseMetadata") {
		t.Errorf("awsQuery wrappers in an ec2query response: %s", r.body)
	}

	// GET with a query string works as on EC2, and so does a presigned credential.
	g := e.raw(t, "GET", form("Action", "DescribeSecurityGroups", "Version", "2016-11-15", "GroupId.1", x.GroupID,
		"X-Amz-Credential", "AKID/20240101/us-east-1/ec2/aws4_request", "X-Amz-Signature", "00"), nil)
	if g.status != 200 || !strings.Contains(g.body, x.GroupID) || !strings.Contains(g.body, "<securityGroupInfo><item>") {
		t.Errorf("GET describe: HTTP %d %s", g.status, g.body)
	}
}

func TestAccountsAndRegionsAreSeparate(t *testing.T) {
	e := newEnv(t, ec2sim.Options{DefaultAccountID: "999988887777"})
	id := e.createGroup("shared-name", "")
	other := e.client("111122223333", "us-east-1")
	west := e.client("AKIDEXAMPLE", "us-west-2")
	for name, c := range map[string]*ec2.Client{"other account": other, "other region": west} {
		t.Run(name, func(t *testing.T) {
			_, err := c.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
			wantErr(t, err, "InvalidGroup.NotFound", s400)
			out, err := c.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("shared-name"), Description: aws.String("d")})
			mustOK(t, err)
			_ = out
		})
	}
	g := e.group(id)
	if aws.ToString(g.OwnerId) != "999988887777" {
		t.Errorf("owner %q, want the default account", aws.ToString(g.OwnerId))
	}
	out, err := other.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"shared-name"}})
	mustOK(t, err)
	if aws.ToString(out.SecurityGroups[0].OwnerId) != "111122223333" || !strings.Contains(aws.ToString(out.SecurityGroups[0].SecurityGroupArn), ":111122223333:") {
		t.Errorf("12-digit access key must be the account: %+v", out.SecurityGroups[0])
	}
	vp, err := west.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{})
	mustOK(t, err)
	if len(vp.Vpcs) != 1 || !aws.ToBool(vp.Vpcs[0].IsDefault) {
		t.Errorf("each region gets its own default VPC: %+v", vp.Vpcs)
	}
	// Without an Authorization header: the default account in us-east-1.
	r := e.raw(t, "POST", form("Action", "DescribeSecurityGroups", "Version", "2016-11-15", "GroupId.1", id), nil)
	if r.status != 200 {
		t.Errorf("unsigned request: HTTP %d %s", r.status, r.body)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]ec2sim.Options{
		"account":     {DefaultAccountID: "12"},
		"fault rate":  {FaultRate: 1.5},
		"drop rate":   {DropRate: -0.1},
		"speed":       {SpeedFactor: -1},
		"latency":     {Latency: -1},
		"consistency": {ConsistencyDelay: -1},
	} {
		if _, err := ec2sim.New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}
