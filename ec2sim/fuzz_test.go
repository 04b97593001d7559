package ec2sim_test

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/palisadehq/palisade/ec2sim"
)

// serveOnce runs one request through ServeHTTP in process and checks the
// properties every answer must have: never a 500 (with faults off and no
// state file, a 500 can only be a recovered panic), and always EC2's XML —
// <Action>Response with a requestId on success, <Response><Errors> with a
// code and a RequestID on failure.
func serveOnce(t *testing.T, sim *ec2sim.Sim, method, body, auth string) {
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	res := rec.Result()
	switch res.StatusCode {
	case http.StatusOK:
		var ok struct {
			XMLName   xml.Name
			RequestID string `xml:"requestId"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &ok); err != nil || !strings.HasSuffix(ok.XMLName.Local, "Response") || ok.RequestID == "" {
			t.Fatalf("success body is not EC2 XML (%v): %s", err, rec.Body)
		}
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusPreconditionFailed:
		var e struct {
			XMLName xml.Name
			Errors  struct {
				Error struct{ Code, Message string }
			}
			RequestID string `xml:"RequestID"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.XMLName.Local != "Response" || e.Errors.Error.Code == "" || e.RequestID == "" {
			t.Fatalf("error body is not EC2 XML (%v): %s", err, rec.Body)
		}
	default:
		t.Fatalf("HTTP %d for %s %q: %s", res.StatusCode, method, body, rec.Body)
	}
	if res.Header.Get("x-amzn-RequestId") == "" {
		t.Fatal("no x-amzn-RequestId header")
	}
}

func FuzzServeHTTP(f *testing.F) {
	seeds := []string{
		"Action=DescribeVpcs&Version=2016-11-15",
		"Action=CreateSecurityGroup&Version=2016-11-15&GroupName=web&GroupDescription=web",
		"Action=CreateSecurityGroup&Version=2016-11-15&GroupName=web&GroupDescription=web&TagSpecification.1.ResourceType=security-group&TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v",
		"Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupName=web&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=21&IpPermissions.1.ToPort=80&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0&IpPermissions.1.IpRanges.2.CidrIp=10.0.0.0%2F16",
		"Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupName=web&IpPermissions.1.IpProtocol=icmpv6&IpPermissions.1.Ipv6Ranges.1.CidrIpv6=%3A%3A%2F0&IpPermissions.2.IpProtocol=-1&IpPermissions.2.Groups.1.GroupName=default",
		"Action=RevokeSecurityGroupIngress&Version=2016-11-15&GroupName=web&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=21&IpPermissions.1.ToPort=80&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0",
		"Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=group-name&Filter.1.Value.1=w*b&MaxResults=5",
		"Action=DescribeSecurityGroupRules&Version=2016-11-15&Filter.1.Name=tag:k&Filter.1.Value.1=%5C*&NextToken=AAAA",
		"Action=ModifySecurityGroupRules&Version=2016-11-15&GroupId=sg-12345678&SecurityGroupRule.1.SecurityGroupRuleId=sgr-12345678&SecurityGroupRule.1.SecurityGroupRule.IpProtocol=6",
		"Action=CreateTags&Version=2016-11-15&ResourceId.1=sg-12345678&Tag.1.Key=k",
		"Action=DeleteTags&Version=2016-11-15&ResourceId.1=vpc-12345678",
		"Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16&AmazonProvidedIpv6CidrBlock=true",
		"Action=UpdateSecurityGroupRuleDescriptionsEgress&Version=2016-11-15&GroupName=web&SecurityGroupRuleDescription.1.SecurityGroupRuleId=sgr-0",
		"Action=DeleteSecurityGroup&Version=2016-11-15&GroupName=web&DryRun=true",
		"Action=DescribeTags&Version=2016-11-15&Filter.1.Name=key&Filter.1.Value.1=%2A%3F%5C",
		"Action=DescribeSecurityGroups&Version=2016-11-15&GroupId.99999999999=x&Filter..Name=&a.b.c=",
		"%zz&&==&Action",
		"",
	}
	for _, s := range seeds {
		f.Add(s, "")
	}
	f.Add("Action=DescribeVpcs&Version=2016-11-15", "AWS4-HMAC-SHA256 Credential=111122223333/20240101/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
	f.Add("Action=DescribeVpcs&Version=2016-11-15", "AWS4-HMAC-SHA256 Credential=/")
	sim, err := ec2sim.New(ec2sim.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body, auth string) {
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 5*time.Second { // generous: the machine may be busy
				t.Fatalf("slow (%v): %q %q", d, body, auth)
			}
		}()
		serveOnce(t, sim, http.MethodPost, body, auth)
		serveOnce(t, sim, http.MethodGet, "", "")
	})
}

// FuzzParam mutates one parameter of otherwise valid requests, reaching the
// validators more often than random bodies do.
func FuzzParam(f *testing.F) {
	bases := []string{
		"Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupName=default&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=1&IpPermissions.1.ToPort=2",
		"Action=AuthorizeSecurityGroupEgress&Version=2016-11-15&IpPermissions.1.IpProtocol=icmp&IpPermissions.1.FromPort=8&IpPermissions.1.ToPort=0",
		"Action=CreateSecurityGroup&Version=2016-11-15&GroupDescription=d",
		"Action=DescribeSecurityGroups&Version=2016-11-15&MaxResults=5",
	}
	for i := range bases {
		f.Add(uint8(i), "IpPermissions.1.IpRanges.1.CidrIp", "10.1.2.3/8")
		f.Add(uint8(i), "IpPermissions.1.Ipv6Ranges.1.CidrIpv6", "2001:db8::1/64")
		f.Add(uint8(i), "IpPermissions.1.Groups.1.GroupName", "default")
		f.Add(uint8(i), "IpPermissions.1.PrefixListIds.1.PrefixListId", "pl-12345678")
		f.Add(uint8(i), "GroupName", "sg-x")
		f.Add(uint8(i), "Filter.1.Name", "ip-permission.cidr")
	}
	sim, err := ec2sim.New(ec2sim.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, base uint8, key, value string) {
		body := bases[int(base)%len(bases)] + "&" + urlEncode(key) + "=" + urlEncode(value)
		serveOnce(t, sim, http.MethodPost, body, "")
	})
}

func urlEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}
