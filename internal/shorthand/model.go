package shorthand

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// shape is the part of the EC2 model the CLI consults while coercing.
type shape struct {
	kind    kind // kObject (structure), kArray (list), kString, kNumber (integer)
	member  *shape
	fields  map[string]*shape
	refused map[string]string // model members Palisade does not take, and why
}

var (
	str     = &shape{kind: kString}
	integer = &shape{kind: kNumber}
)

func list(of *shape) *shape { return &shape{kind: kArray, member: of} }

// ipPermission is EC2's IpPermission as far as Palisade takes it.
var ipPermission = &shape{kind: kObject, fields: map[string]*shape{
	"IpProtocol":    str,
	"FromPort":      integer,
	"ToPort":        integer,
	"IpRanges":      list(&shape{kind: kObject, fields: map[string]*shape{"CidrIp": str, "Description": str}}),
	"Ipv6Ranges":    list(&shape{kind: kObject, fields: map[string]*shape{"CidrIpv6": str, "Description": str}}),
	"PrefixListIds": list(&shape{kind: kObject, fields: map[string]*shape{"PrefixListId": str, "Description": str}}),
	"UserIdGroupPairs": list(&shape{kind: kObject,
		fields: map[string]*shape{"GroupId": str, "UserId": str, "VpcId": str, "VpcPeeringConnectionId": str, "Description": str},
		refused: map[string]string{
			"GroupName":     "groups are named by id in Palisade (names work only in a default VPC); use GroupId",
			"PeeringStatus": "PeeringStatus is reported by EC2, not set",
		}}),
}}

// converter applies a shape to parsed nodes. For shorthand it coerces as
// the CLI's BackCompatVisitor does; for JSON it only checks.
type converter struct {
	src  string
	json bool
}

func (c converter) errorf(kind error, off int, path, format string, args ...any) *Error {
	e := newError(kind, c.src, off, format, args...)
	e.Path = path
	return e
}

func (c converter) typeError(n *node, path, want string) *Error {
	return c.errorf(ErrType, n.pos, path, "expected %s, found %s", want, n.kind)
}

func (c converter) convert(n *node, s *shape, path string) (any, error) {
	switch s.kind {
	case kObject:
		return c.structure(n, s, path)
	case kArray:
		return c.list(n, s, path)
	case kNumber:
		return c.integer(n, path)
	}
	if n.kind != kString {
		hint := ""
		if n.kind == kNumber {
			hint = ` (write it in quotes: "` + n.text + `")`
		}
		return nil, c.errorf(ErrType, n.pos, path, "expected a string, found %s%s", n.kind, hint)
	}
	return n.text, nil
}

func (c converter) structure(n *node, s *shape, path string) (map[string]any, error) {
	if n.kind != kObject {
		return nil, c.typeError(n, path, "a structure such as {"+fieldNames(s)[0]+"=…}")
	}
	out := make(map[string]any, len(n.keys))
	for i, k := range n.keys {
		fs, ok := s.fields[k]
		if !ok {
			return nil, c.unknownKey(s, k, n.kpos[i], path)
		}
		v, err := c.convert(n.field[k], fs, path+"."+k)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func (c converter) unknownKey(s *shape, k string, pos int, path string) *Error {
	if why, ok := s.refused[k]; ok {
		return c.errorf(ErrUnknownKey, pos, path, "%s is not supported: %s", k, why)
	}
	names := fieldNames(s)
	for _, name := range names {
		if strings.EqualFold(name, k) {
			return c.errorf(ErrUnknownKey, pos, path, "unknown key %q; keys are case-sensitive: did you mean %s?", k, name)
		}
	}
	return c.errorf(ErrUnknownKey, pos, path, "unknown key %q; valid keys are %s", k, strings.Join(names, ", "))
}

func fieldNames(s *shape) []string {
	names := make([]string, 0, len(s.fields))
	for k := range s.fields {
		names = append(names, k)
	}
	// A fixed, readable order: as EC2 documents the members.
	order := []string{"IpProtocol", "FromPort", "ToPort", "IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs",
		"CidrIp", "CidrIpv6", "PrefixListId", "GroupId", "UserId", "VpcId", "VpcPeeringConnectionId", "Description"}
	slices.SortFunc(names, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	return names
}

func (c converter) list(n *node, s *shape, path string) ([]any, error) {
	items := n.items
	if n.kind != kArray {
		if c.json {
			return nil, c.typeError(n, path, "a list [...]")
		}
		items = []*node{n} // the CLI turns a lone value into a one-element list
	}
	out := make([]any, 0, len(items))
	for i, it := range items {
		v, err := c.convert(it, s.member, path+"["+itoa(i)+"]")
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// integer reads an EC2 Integer (a 32-bit signed number). Shorthand gives
// text, which the CLI converts with Python's int(); JSON must give a
// number.
func (c converter) integer(n *node, path string) (int, error) {
	text := n.text
	switch {
	case n.kind == kString && !c.json:
		text = strings.TrimSpace(text)
	case n.kind == kNumber:
	default:
		return 0, c.typeError(n, path, "an integer")
	}
	v, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, c.errorf(ErrType, n.pos, path, "%s is out of range for an integer", strconv.Quote(n.text))
		}
		return 0, c.errorf(ErrType, n.pos, path, "%s is not an integer", strconv.Quote(n.text))
	}
	return int(v), nil
}

func itoa(i int) string { return strconv.Itoa(i) }
