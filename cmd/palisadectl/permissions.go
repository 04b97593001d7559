package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/shorthand"
)

// parsePermissions reads the values of an --ip-permissions style flag:
// AWS CLI shorthand, JSON, file://path, or "-" for JSON or shorthand on
// standard input. Any problem is a usage error naming the flag.
func parsePermissions(flagName string, values []string, stdin io.Reader) ([]*palisadev1.IpPermission, error) {
	args := slices.Clone(values)
	for i, v := range args {
		if v != "-" {
			continue
		}
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, usagef("--%s -: read standard input: %v", flagName, err)
		}
		args[i] = string(b)
	}
	maps, err := shorthand.DefaultParser.ParseIPPermissions(args)
	if err != nil {
		return nil, usagef("--%s: %v", flagName, err)
	}
	perms, err := toIPPermissions(maps)
	if err != nil {
		return nil, usagef("--%s: %v", flagName, err)
	}
	return perms, nil
}

// toIPPermissions converts the EC2-named maps of shorthand into API
// permissions. Names are mapped one by one rather than through protojson,
// because proto JSON names are lowerCamel of the snake_case fields
// ("ipProtocol", "cidrIp"), not EC2's ("IpProtocol", "CidrIp"), and an
// unknown name must be refused by name, never dropped.
func toIPPermissions(in []map[string]any) ([]*palisadev1.IpPermission, error) {
	out := make([]*palisadev1.IpPermission, 0, len(in))
	for i, m := range in {
		p, err := toIPPermission(m, fmt.Sprintf("IpPermissions[%d]", i))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func toIPPermission(m map[string]any, path string) (*palisadev1.IpPermission, error) {
	p := &palisadev1.IpPermission{}
	for _, k := range sortedKeys(m) {
		v, at := m[k], path+"."+k
		var err error
		switch k {
		case "IpProtocol":
			p.IpProtocol, err = asString(v, at)
		case "FromPort":
			p.FromPort, err = asPort(v, at)
		case "ToPort":
			p.ToPort, err = asPort(v, at)
		case "IpRanges":
			err = eachPeer(v, at, func(f fields) error {
				r := &palisadev1.IpRange{}
				p.IpRanges = append(p.IpRanges, r)
				return f.take(map[string]*string{"CidrIp": &r.CidrIp, "Description": &r.Description})
			})
		case "Ipv6Ranges":
			err = eachPeer(v, at, func(f fields) error {
				r := &palisadev1.Ipv6Range{}
				p.Ipv6Ranges = append(p.Ipv6Ranges, r)
				return f.take(map[string]*string{"CidrIpv6": &r.CidrIpv6, "Description": &r.Description})
			})
		case "PrefixListIds":
			err = eachPeer(v, at, func(f fields) error {
				r := &palisadev1.PrefixListId{}
				p.PrefixListIds = append(p.PrefixListIds, r)
				return f.take(map[string]*string{"PrefixListId": &r.PrefixListId, "Description": &r.Description})
			})
		case "UserIdGroupPairs":
			err = eachPeer(v, at, func(f fields) error {
				r := &palisadev1.UserIdGroupPair{}
				p.UserIdGroupPairs = append(p.UserIdGroupPairs, r)
				return f.take(map[string]*string{
					"GroupId": &r.GroupId, "UserId": &r.UserId, "VpcId": &r.VpcId,
					"VpcPeeringConnectionId": &r.VpcPeeringConnectionId, "Description": &r.Description,
				})
			})
		default:
			err = fmt.Errorf("%s: unknown key %q", path, k)
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// fields is one peer structure (an element of IpRanges and the like).
type fields struct {
	m    map[string]any
	path string
}

// take copies the string members named in dst and refuses any other.
func (f fields) take(dst map[string]*string) error {
	for _, k := range sortedKeys(f.m) {
		d, ok := dst[k]
		if !ok {
			return fmt.Errorf("%s: unknown key %q; valid keys are %s", f.path, k, strings.Join(sortedKeys(dst), ", "))
		}
		s, err := asString(f.m[k], f.path+"."+k)
		if err != nil {
			return err
		}
		*d = s
	}
	return nil
}

func eachPeer(v any, path string, each func(fields) error) error {
	list, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%s: expected a list, found %T", path, v)
	}
	for i, it := range list {
		at := fmt.Sprintf("%s[%d]", path, i)
		m, ok := it.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: expected a structure, found %T", at, it)
		}
		if err := each(fields{m: m, path: at}); err != nil {
			return err
		}
	}
	return nil
}

func asString(v any, path string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: expected a string, found %T", path, v)
	}
	return s, nil
}

// asPort takes the integer shorthand produces (int) or a JSON number
// decoded elsewhere (float64), refusing fractions and overflow.
func asPort(v any, path string) (*int32, error) {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case float64:
		if x != float64(int64(x)) {
			return nil, fmt.Errorf("%s: %v is not an integer", path, x)
		}
		n = int64(x)
	default:
		return nil, fmt.Errorf("%s: expected an integer, found %T", path, v)
	}
	if n < -1<<31 || n > 1<<31-1 {
		return nil, fmt.Errorf("%s: %d is out of range", path, n)
	}
	p := int32(n)
	return &p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
