package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/client"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// The seed lab: create a group in the default VPC, then allow SSH and
// HTTP in, waiting for each change to be applied.
func Example() {
	ctx := context.Background()
	c, err := client.Dial(client.DefaultAddress, client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	where := &palisadev1.Location{AccountId: "123456789012", Region: "us-east-1"}

	op, err := c.CreateSecurityGroup(ctx, &palisadev1.CreateSecurityGroupRequest{
		Location: where, GroupName: "ssh-http-sg", Description: "SG for SSH and HTTP traffic",
	})
	if err != nil {
		log.Print(err)
		return
	}
	created, err := c.Wait(ctx, op.Name(), nil)
	if err != nil {
		log.Print(err)
		return
	}
	fmt.Println("Security Group created with ID:", created.GroupID())

	port := func(p int32) *int32 { return &p }
	op, err = c.AuthorizeSecurityGroupIngress(ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: where, GroupId: created.GroupID(),
		IpPermissions: []*palisadev1.IpPermission{
			{IpProtocol: "tcp", FromPort: port(22), ToPort: port(22), IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}},
			{IpProtocol: "tcp", FromPort: port(80), ToPort: port(80), IpRanges: []*palisadev1.IpRange{{CidrIp: "0.0.0.0/0"}}},
		},
	})
	if err != nil {
		log.Print(err)
		return
	}
	done, err := c.Wait(ctx, op.Name(), nil)
	if err != nil {
		log.Print(err)
		return
	}
	for _, r := range done.Result.GetSecurityGroupRules() {
		fmt.Println("rule", r.GetSecurityGroupRuleId())
	}
}

// Dialling the API over mutual TLS with palisadectl's files.
func ExampleDial() {
	c, err := client.Dial("palisade.internal:443", client.Options{
		TLSCert: "me.pem", TLSKey: "me-key.pem", TLSCA: "server-ca.pem",
	})
	if err != nil {
		log.Fatal(err) // a file that cannot be read is named here
	}
	defer c.Close()
}

// Every error from the server is an *Error: the bad fields by their
// path, EC2's code of a failed operation, the policy's decision.
func ExampleError() {
	// What the API answers for a CIDR with a /33 mask.
	st, _ := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "ip_permissions[0].ip_ranges[0].cidr_ip", Description: "not a CIDR block"}},
	})
	err := fmt.Errorf("authorize: %w", client.FromStatus(st))

	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Denied(), e.Retryable())
		for _, v := range e.Violations {
			fmt.Printf("%s: %s\n", v.Field, v.Description)
		}
	}
	// Output:
	// InvalidArgument false false
	// ip_permissions[0].ip_ranges[0].cidr_ip: not a CIDR block
}
