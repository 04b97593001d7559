package client_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/palisadehq/palisade/client"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/palisadetest"
)

// BenchmarkCreateValidateOnly: what the client adds to a call (a request
// id, the operation's decoding, the retry loop) next to the bare
// generated stub, on the same connection to a local API. validate_only
// keeps the queue out of it: the API validates, decides and audits.
//
//	go test -run '^$' -bench CreateValidateOnly -benchtime 2000x ./client/
func BenchmarkCreateValidateOnly(b *testing.B) {
	s := palisadetest.Start(b, palisadetest.Options{})
	c := client.New(s.Conn, client.Retry{})
	req := func() *palisadev1.CreateSecurityGroupRequest {
		return &palisadev1.CreateSecurityGroupRequest{Location: here, GroupName: "bench", Description: "validate only", ValidateOnly: true,
			IpPermissions: []*palisadev1.IpPermission{tcp(443, "10.0.0.0/8")}}
	}
	b.Run("client", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.CreateSecurityGroup(b.Context(), req()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stub", func(b *testing.B) {
		for b.Loop() {
			r := req()
			r.RequestId = uuid.NewString()
			if _, err := s.SecurityGroups.CreateSecurityGroup(b.Context(), r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
