package ec2errors

import (
	"testing"

	"google.golang.org/grpc/codes"
)

func TestTable(t *testing.T) {
	for _, c := range []struct {
		code  string
		class Class
		grpc  codes.Code
	}{
		{"RequestLimitExceeded", Throttled, codes.Unavailable},
		{"InternalError", Transient, codes.Unavailable},
		{"Server.InternalError", Transient, codes.Unavailable},
		{"InvalidGroup.NotFound", NotVisible, codes.NotFound},
		{"Client.InvalidGroup.NotFound", NotVisible, codes.NotFound},
		{"DependencyViolation", Dependency, codes.FailedPrecondition},
		{"InvalidVpcID.NotFound", Terminal, codes.NotFound},
		{"InvalidPrefixListID.NotFound", Terminal, codes.NotFound},
		{"InvalidPrefixListId.Malformed", Terminal, codes.InvalidArgument},
		{"InvalidPrefixListModification", Terminal, codes.InvalidArgument},
		{"PrefixListVersionMismatch", Terminal, codes.Aborted},
		{"IncorrectState", Terminal, codes.Aborted},
		{"PrefixListMaxEntriesExceeded", Terminal, codes.ResourceExhausted},
		{"InvalidGroup.Duplicate", Terminal, codes.AlreadyExists},
		{"RulesPerSecurityGroupLimitExceeded", Terminal, codes.ResourceExhausted},
		{"RegionDisabledException", Terminal, codes.PermissionDenied},
		{"Client.UnauthorizedOperation", Terminal, codes.PermissionDenied},
		{"InvalidGroupId.Malformed", Terminal, codes.InvalidArgument},
		{"InvalidFilter", Terminal, codes.InvalidArgument},
		{"SomethingNew", Terminal, codes.FailedPrecondition},
	} {
		if m := Of(c.code); m.Class != c.class || m.GRPC != c.grpc {
			t.Errorf("Of(%q) = %v, %v; want %v, %v", c.code, m.Class, m.GRPC, c.class, c.grpc)
		}
	}
}
