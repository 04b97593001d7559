package ec2client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// bigDescribe answers every call with a DescribeSecurityGroupRules response
// of about 60 KB, at once, the way the local endpoint does.
func bigDescribe(t *testing.T) *httptest.Server {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><DescribeSecurityGroupRulesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><securityGroupRuleSet>`)
	for i := 0; i < 300; i++ {
		b.WriteString(`<item><securityGroupRuleId>sgr-0123456789abcdef0</securityGroupRuleId><groupId>sg-0123456789abcdef0</groupId><isEgress>false</isEgress><ipProtocol>tcp</ipProtocol><fromPort>22</fromPort><toPort>22</toPort><cidrIpv4>10.0.0.0/16</cidrIpv4><description>a rule description long enough to add some weight</description></item>`)
	}
	b.WriteString(`</securityGroupRuleSet></DescribeSecurityGroupRulesResponse>`)
	body := b.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLargeResponsesFromAFastEndpoint reproduces the SDK's closed-body race
// (without guardBody about a third of these calls fail) and checks that the
// factory's clients read every response.
func TestLargeResponsesFromAFastEndpoint(t *testing.T) {
	srv := bigDescribe(t)
	f, err := New(context.Background(), Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := f.Client("111122223333", "us-east-1")
	in := &ec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{strings.Repeat("sg-0123456789abcdef0", 50)}}}}
	for i := 0; i < 100; i++ {
		out, err := c.DescribeSecurityGroupRules(context.Background(), in)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if len(out.SecurityGroupRules) != 300 {
			t.Fatalf("call %d: %d rules", i, len(out.SecurityGroupRules))
		}
	}
}

func TestClientsAreCachedPerAccountAndRegion(t *testing.T) {
	f, err := New(context.Background(), Options{Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Client("111122223333", "us-east-1"), f.Client("111122223333", "us-east-1")
	if a != b {
		t.Fatal("same account and region must share a client")
	}
	if f.Client("111122223333", "eu-west-1") == a || f.Client("444455556666", "us-east-1") == a {
		t.Fatal("another account or region must get its own client")
	}
	if got := a.Options().Region; got != "us-east-1" {
		t.Fatalf("region %q", got)
	}
}
