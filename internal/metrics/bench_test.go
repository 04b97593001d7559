package metrics

import (
	"testing"
	"time"
)

// BenchmarkRecord: what one observation costs on the paths that record
// them (every API call, every EC2 call).
//
//	go test -run '^$' -bench Record ./internal/metrics/
func BenchmarkRecord(b *testing.B) {
	b.Run("rpc", func(b *testing.B) {
		for range b.N {
			RPCDone("/palisade.v1.SecurityGroupService/AuthorizeSecurityGroupIngress", "OK", time.Millisecond)
		}
	})
	b.Run("ec2", func(b *testing.B) {
		for range b.N {
			EC2Called("AuthorizeSecurityGroupIngress", "ok", time.Millisecond)
		}
	})
}
