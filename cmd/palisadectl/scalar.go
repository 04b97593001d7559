package main

import (
	"flag"
	"strconv"
	"strings"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// scalarFlags are the AWS CLI's one-rule options of authorize and revoke
// (aws-cli's secgroupsimplify): --protocol, --port, --cidr,
// --source-group and --group-owner together make one IpPermission.
type scalarFlags struct {
	protocol, port, cidr, sourceGroup, groupOwner string
}

func (s *scalarFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.protocol, "protocol", "", "one-rule form: tcp, udp, icmp, all or a protocol number 0-255 (all and -1 mean every protocol)")
	fs.StringVar(&s.port, "port", "", "one-rule form: a port (22), a range (7000-8000), or all / -1; for icmp, type-code")
	fs.StringVar(&s.cidr, "cidr", "", "one-rule form: the peer's CIDR (IPv4, or IPv6 which goes to Ipv6Ranges)")
	fs.StringVar(&s.sourceGroup, "source-group", "", "one-rule form: the peer security group's id (sg-…)")
	fs.StringVar(&s.groupOwner, "group-owner", "", "one-rule form: the account owning --source-group")
}

func (s *scalarFlags) given() bool {
	return s.protocol != "" || s.port != "" || s.cidr != "" || s.sourceGroup != "" || s.groupOwner != ""
}

// permission builds the one IpPermission the scalar options describe,
// checking what the AWS CLI checks before it sends anything.
func (s *scalarFlags) permission() (*palisadev1.IpPermission, error) {
	p := &palisadev1.IpPermission{}
	proto, err := scalarProtocol(s.protocol)
	if err != nil {
		return nil, err
	}
	p.IpProtocol = proto
	if s.port != "" {
		if p.FromPort, p.ToPort, err = scalarPort(s.port); err != nil {
			return nil, err
		}
	}
	if s.cidr != "" {
		// The CLI puts every --cidr in IpRanges, where EC2 then refuses an
		// IPv6 one; sending it where it belongs is what the user meant.
		if strings.Contains(s.cidr, ":") {
			p.Ipv6Ranges = []*palisadev1.Ipv6Range{{CidrIpv6: s.cidr}}
		} else {
			p.IpRanges = []*palisadev1.IpRange{{CidrIp: s.cidr}}
		}
	}
	if s.sourceGroup != "" || s.groupOwner != "" {
		if s.sourceGroup == "" {
			return nil, usagef("--group-owner needs --source-group")
		}
		if !strings.HasPrefix(s.sourceGroup, "sg-") {
			return nil, usagef("--source-group %q: name the group by its id (sg-…); names only work in a default VPC", s.sourceGroup)
		}
		p.UserIdGroupPairs = []*palisadev1.UserIdGroupPair{{GroupId: s.sourceGroup, UserId: s.groupOwner}}
	}
	if s.cidr == "" && s.sourceGroup == "" {
		return nil, usagef("the one-rule form needs a peer: --cidr or --source-group")
	}
	return p, nil
}

func scalarProtocol(v string) (string, error) {
	switch v {
	case "":
		return "", usagef("the one-rule form needs --protocol (tcp, udp, icmp, all or 0-255)")
	case "tcp", "udp", "icmp":
		return v, nil
	case "all":
		return "-1", nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || (n < 0 || n > 255) && n != -1 {
		return "", usagef("--protocol %q: use tcp, udp, icmp, all, or a protocol number 0-255 (-1 for all)", v)
	}
	return strconv.Itoa(n), nil
}

// scalarPort reads --port as the CLI does: "all" and "-1" are the whole
// range (-1, -1); "a-b" is a range; anything else a single port.
func scalarPort(v string) (from, to *int32, err error) {
	lo, hi := v, v
	switch {
	case v == "all" || v == "-1":
		lo, hi = "-1", "-1"
	case strings.Contains(v, "-"):
		lo, hi, _ = strings.Cut(v, "-")
	}
	a, errA := strconv.ParseInt(lo, 10, 32)
	b, errB := strconv.ParseInt(hi, 10, 32)
	if errA != nil || errB != nil {
		return nil, nil, usagef("--port %q: write a port (22), a range (7000-8000), or all", v)
	}
	f, t := int32(a), int32(b)
	return &f, &t, nil
}
