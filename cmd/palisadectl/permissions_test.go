package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func i32(v int32) *int32 { return &v }

func TestParsePermissions(t *testing.T) {
	seed := &palisadev1.IpPermission{IpProtocol: "tcp", FromPort: i32(21), ToPort: i32(80), IpRanges: []*palisadev1.IpRange{
		{CidrIp: "0.0.0.0/0"}, {CidrIp: "10.0.0.0/16"},
	}}
	every := &palisadev1.IpPermission{
		IpProtocol:    "-1",
		IpRanges:      []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8", Description: "SSH access"}},
		Ipv6Ranges:    []*palisadev1.Ipv6Range{{CidrIpv6: "::/0", Description: "v6"}},
		PrefixListIds: []*palisadev1.PrefixListId{{PrefixListId: "pl-0123", Description: "pl"}},
		UserIdGroupPairs: []*palisadev1.UserIdGroupPair{{
			GroupId: "sg-0456", UserId: "111122223333", VpcId: "vpc-1", VpcPeeringConnectionId: "pcx-1", Description: "db",
		}},
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "perms.json")
	if err := os.WriteFile(file, []byte(`[{"IpProtocol":"tcp","FromPort":21,"ToPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"},{"CidrIp":"10.0.0.0/16"}]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		stdin string
		want  []*palisadev1.IpPermission
	}{
		{"seed shorthand", []string{"IpProtocol=tcp,FromPort=21,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0},{CidrIp=10.0.0.0/16}]"}, "", []*palisadev1.IpPermission{seed}},
		{"seed JSON", []string{`[{"IpProtocol":"tcp","FromPort":21,"ToPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"},{"CidrIp":"10.0.0.0/16"}]}]`}, "", []*palisadev1.IpPermission{seed}},
		{"file", []string{"file://" + file}, "", []*palisadev1.IpPermission{seed}},
		{"stdin", []string{"-"}, `{"IpProtocol":"tcp","FromPort":21,"ToPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"},{"CidrIp":"10.0.0.0/16"}]}`, []*palisadev1.IpPermission{seed}},
		{"several values", []string{"IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0}]", "IpProtocol=tcp,FromPort=80,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0}]"}, "",
			[]*palisadev1.IpPermission{
				{IpProtocol: "tcp", FromPort: i32(22), ToPort: i32(22), IpRanges: []*palisadev1.IpRange{{CidrIp: "0.0.0.0/0"}}},
				{IpProtocol: "tcp", FromPort: i32(80), ToPort: i32(80), IpRanges: []*palisadev1.IpRange{{CidrIp: "0.0.0.0/0"}}},
			}},
		{"every peer kind", []string{"IpProtocol=-1,IpRanges=[{CidrIp=10.0.0.0/8,Description=SSH access}],Ipv6Ranges=[{CidrIpv6=::/0,Description=v6}]," +
			"PrefixListIds=[{PrefixListId=pl-0123,Description=pl}],UserIdGroupPairs=[{GroupId=sg-0456,UserId=111122223333,VpcId=vpc-1,VpcPeeringConnectionId=pcx-1,Description=db}]"},
			"", []*palisadev1.IpPermission{every}},
		{"icmp without ports stays without", []string{"IpProtocol=icmp,FromPort=-1,ToPort=-1,IpRanges=[{CidrIp=10.0.0.0/8}]"}, "",
			[]*palisadev1.IpPermission{{IpProtocol: "icmp", FromPort: i32(-1), ToPort: i32(-1), IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parsePermissions("ip-permissions", c.args, strings.NewReader(c.stdin))
			if err != nil {
				t.Fatal(err)
			}
			if !equalPermissions(got, c.want) {
				t.Fatalf("got  %s\nwant %s", permsText(got), permsText(c.want))
			}
		})
	}
	// Absent ports stay absent: EC2 tells "no ports" from port 0.
	got, err := parsePermissions("ip-permissions", []string{"IpProtocol=-1,IpRanges=[{CidrIp=10.0.0.0/8}]"}, strings.NewReader(""))
	if err != nil || got[0].FromPort != nil || got[0].ToPort != nil {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestParsePermissionsErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"syntax", []string{"IpProtocol=tcp,IpRanges=[{CidrIp=0.0.0.0/0}"}, "--ip-permissions: argument 1"},
		{"unknown key", []string{"IpProtocol=tcp,Ports=22"}, `unknown key "Ports"`},
		{"unknown peer key", []string{"IpProtocol=tcp,IpRanges=[{Cidr=0.0.0.0/0}]"}, `unknown key "Cidr"`},
		{"group name", []string{"IpProtocol=tcp,UserIdGroupPairs=[{GroupName=web}]"}, "GroupName is not supported"},
		{"port type", []string{"IpProtocol=tcp,FromPort=ssh"}, "is not an integer"},
		{"second value", []string{"IpProtocol=tcp", "IpProtocol=udp,Bad=1"}, "argument 2"},
		{"empty stdin", []string{"-"}, "--ip-permissions"},
		{"missing file", []string{"file:///nonexistent/perms.json"}, "file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parsePermissions("ip-permissions", c.args, strings.NewReader(""))
			var ee *exitErr
			if !errors.As(err, &ee) || ee.code != exitUsage {
				t.Fatalf("want a usage error, got %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q lacks %q", err, c.want)
			}
		})
	}
}

// toIPPermissions is also fed by hand-built maps: every wrong shape is
// refused with the path of the offending member, never dropped.
func TestToIPPermissionsRefusesWrongShapes(t *testing.T) {
	cases := []struct {
		name string
		in   map[string]any
		want string
	}{
		{"unknown member", map[string]any{"ipProtocol": "tcp"}, `IpPermissions[0]: unknown key "ipProtocol"`},
		{"protocol not a string", map[string]any{"IpProtocol": 6}, "IpPermissions[0].IpProtocol: expected a string"},
		{"port not a number", map[string]any{"FromPort": "22"}, "IpPermissions[0].FromPort: expected an integer"},
		{"port fraction", map[string]any{"ToPort": 22.5}, "IpPermissions[0].ToPort: 22.5 is not an integer"},
		{"port overflow", map[string]any{"ToPort": 1 << 40}, "out of range"},
		{"ranges not a list", map[string]any{"IpRanges": map[string]any{"CidrIp": "x"}}, "IpPermissions[0].IpRanges: expected a list"},
		{"range not a structure", map[string]any{"Ipv6Ranges": []any{"::/0"}}, "IpPermissions[0].Ipv6Ranges[0]: expected a structure"},
		{"peer value not a string", map[string]any{"PrefixListIds": []any{map[string]any{"PrefixListId": 1}}}, "PrefixListIds[0].PrefixListId: expected a string"},
		{"peer unknown key", map[string]any{"UserIdGroupPairs": []any{map[string]any{"GroupName": "x"}}}, `UserIdGroupPairs[0]: unknown key "GroupName"; valid keys are Description, GroupId, UserId, VpcId, VpcPeeringConnectionId`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := toIPPermissions([]map[string]any{c.in})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v lacks %q", err, c.want)
			}
		})
	}
	got, err := toIPPermissions([]map[string]any{{"FromPort": float64(443), "ToPort": int64(443)}})
	if err != nil || !proto.Equal(got[0], &palisadev1.IpPermission{FromPort: i32(443), ToPort: i32(443)}) {
		t.Fatalf("JSON-decoded numbers: %v, %v", got, err)
	}
}

func equalPermissions(a, b []*palisadev1.IpPermission) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func permsText(ps []*palisadev1.IpPermission) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("{" + prototext.MarshalOptions{}.Format(p) + "} ")
	}
	return b.String()
}
