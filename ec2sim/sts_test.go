package ec2sim_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/palisadehq/palisade/ec2sim"
)

func (e *env) stsClient() *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   sdkHTTPClient(),
	})
}

// TestAssumeRole: the SDK's STS client gets credentials whose access key
// id is the role's account, valid for the session asked, and calls made
// with them act as that account.
func TestAssumeRole(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	before := time.Now()
	out, err := e.stsClient().AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::444455556666:role/ops/palisade"), RoleSessionName: aws.String("palisade"),
		DurationSeconds: aws.Int32(900), ExternalId: aws.String("ext-1")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if aws.ToString(c.AccessKeyId) != "444455556666" || aws.ToString(c.SecretAccessKey) == "" || aws.ToString(c.SessionToken) == "" {
		t.Fatalf("credentials %+v", c)
	}
	if exp := aws.ToTime(c.Expiration); exp.Before(before.Add(899*time.Second)) || exp.After(time.Now().Add(901*time.Second)) {
		t.Fatalf("expiration %v, want 15 minutes from now", exp)
	}
	if arn := aws.ToString(out.AssumedRoleUser.Arn); arn != "arn:aws:sts::444455556666:assumed-role/palisade/palisade" {
		t.Fatalf("assumed role ARN %q", arn)
	}
	group := e.client(aws.ToString(c.AccessKeyId), "us-east-1")
	if _, err := group.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("assumed"), Description: aws.String("made with assumed-role credentials")}); err != nil {
		t.Fatal(err)
	}
	var created, assumed int
	for _, call := range e.sim.CallLog() {
		switch call.Action {
		case "CreateSecurityGroup":
			created++
			if call.Account != "444455556666" {
				t.Errorf("group created in account %s", call.Account)
			}
		case "AssumeRole":
			assumed++
		}
	}
	if created != 1 || assumed != 1 {
		t.Fatalf("call log: %d AssumeRole, %d CreateSecurityGroup", assumed, created)
	}
}

// TestAssumeRoleErrors: what STS refuses, in STS's error shape
// (<ErrorResponse><Error>), each naming the member at fault.
func TestAssumeRoleErrors(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	const ver = "Version=2011-06-15&"
	arn := "RoleArn=arn%3Aaws%3Aiam%3A%3A444455556666%3Arole%2Fpalisade&"
	cases := []struct {
		name, body, code, says string
	}{
		{"no role", ver + "Action=AssumeRole&RoleSessionName=s1", "ValidationError", "'roleArn'"},
		{"no session name", ver + "Action=AssumeRole&" + arn, "ValidationError", "'roleSessionName'"},
		{"short role", ver + "Action=AssumeRole&RoleSessionName=s1&RoleArn=arn", "ValidationError", "'roleArn'"},
		{"not a role", ver + "Action=AssumeRole&RoleSessionName=s1&RoleArn=arn%3Aaws%3Aiam%3A%3A444455556666%3Auser%2Fbob", "ValidationError", "is invalid"},
		{"short session name", ver + "Action=AssumeRole&" + arn + "RoleSessionName=s", "ValidationError", "'roleSessionName'"},
		{"session name pattern", ver + "Action=AssumeRole&" + arn + "RoleSessionName=a+b%21", "ValidationError", "'roleSessionName'"},
		{"duration not a number", ver + "Action=AssumeRole&" + arn + "RoleSessionName=s1&DurationSeconds=soon", "ValidationError", "'durationSeconds'"},
		{"duration too short", ver + "Action=AssumeRole&" + arn + "RoleSessionName=s1&DurationSeconds=899", "ValidationError", "'durationSeconds'"},
		{"duration past the role's maximum", ver + "Action=AssumeRole&" + arn + "RoleSessionName=s1&DurationSeconds=7200", "ValidationError", "MaxSessionDuration"},
		{"short external id", ver + "Action=AssumeRole&" + arn + "RoleSessionName=s1&ExternalId=x", "ValidationError", "'externalId'"},
		{"external id pattern", ver + "Action=AssumeRole&" + arn + "RoleSessionName=s1&ExternalId=a%20b", "ValidationError", "'externalId'"},
		{"other STS action", ver + "Action=GetFederationToken&Name=bob", "InvalidAction", "GetFederationToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, code, msg, body := e.rawSTS(t, tc.body)
			if status != http.StatusBadRequest || code != tc.code || !strings.Contains(msg, tc.says) {
				t.Fatalf("HTTP %d %s %q, want 400 %s naming %s\n%s", status, code, msg, tc.code, tc.says, body)
			}
		})
	}
}

// rawSTS posts a hand-built STS request and reads STS's error shape.
func (e *env) rawSTS(t *testing.T, body string) (status int, code, message, raw string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, e.url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Error   struct{ Type, Code, Message string }
	}
	if resp.StatusCode != http.StatusOK {
		if err := xml.Unmarshal(b, &x); err != nil {
			t.Fatalf("error body is not STS XML: %v\n%s", err, string(b))
		}
		if x.Error.Type != "Sender" {
			t.Errorf("error type %q, want Sender", x.Error.Type)
		}
	}
	return resp.StatusCode, x.Error.Code, x.Error.Message, string(b)
}

// GetCallerIdentity answers with the account the credentials act as (STS
// API reference, GetCallerIdentity: Account, Arn, UserId). Credentials this
// endpoint issued name the assumed role and session, as STS does
// (arn:aws:sts::<account>:assumed-role/<role>/<session>, UserId
// <role id>:<session>); any other credentials are the account's root user
// (Arn arn:aws:iam::<account>:root, UserId the account id), there being no
// IAM to name another principal.
func TestGetCallerIdentity(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	out, err := e.stsClient().GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	mustOK(t, err)
	if aws.ToString(out.Account) != "123456789012" || aws.ToString(out.Arn) != "arn:aws:iam::123456789012:root" || aws.ToString(out.UserId) != "123456789012" {
		t.Errorf("default credentials: %s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}

	role, err := e.stsClient().AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::444455556666:role/ops/palisade"), RoleSessionName: aws.String("worker-1")})
	mustOK(t, err)
	c := role.Credentials
	as := sts.New(sts.Options{Region: "eu-west-1", BaseEndpoint: aws.String(e.url), Retryer: aws.NopRetryer{}, HTTPClient: sdkHTTPClient(),
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))})
	out, err = as.GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	mustOK(t, err)
	if aws.ToString(out.Account) != "444455556666" || aws.ToString(out.Arn) != "arn:aws:sts::444455556666:assumed-role/palisade/worker-1" ||
		aws.ToString(out.UserId) != aws.ToString(role.AssumedRoleUser.AssumedRoleId) || !strings.HasSuffix(aws.ToString(out.UserId), ":worker-1") {
		t.Errorf("assumed role: %s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}

	// A token of another account's session does not lend its role.
	other := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.url), Retryer: aws.NopRetryer{}, HTTPClient: sdkHTTPClient(),
		Credentials: credentials.NewStaticCredentialsProvider("111122223333", "x", aws.ToString(c.SessionToken))})
	out, err = other.GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	mustOK(t, err)
	if aws.ToString(out.Account) != "111122223333" || aws.ToString(out.Arn) != "arn:aws:iam::111122223333:root" {
		t.Errorf("foreign token: %s %s", aws.ToString(out.Account), aws.ToString(out.Arn))
	}
}
