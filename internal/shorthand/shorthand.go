package shorthand

import (
	"errors"
	"os"
	"strings"
	"unicode/utf8"
)

// Parser parses shorthand and JSON values. Its zero value refuses
// file:// values, which is what a server wants: a request must never make
// it read its own files. The package-level functions use DefaultParser.
type Parser struct {
	// ReadFile reads the file a file:// value names; nil disables file://.
	ReadFile func(name string) ([]byte, error)
}

// DefaultParser reads file:// values from the local file system, relative
// to the working directory, as the CLI does.
var DefaultParser = Parser{ReadFile: os.ReadFile}

// Parse parses one shorthand value with DefaultParser.
func Parse(s string) (map[string]any, error) { return DefaultParser.Parse(s) }

// ParseIPPermissions parses the values of --ip-permissions with
// DefaultParser.
func ParseIPPermissions(args []string) ([]map[string]any, error) {
	return DefaultParser.ParseIPPermissions(args)
}

// Parse parses one shorthand value — "k=v,k2=[a,b],k3={x=y}" — into
// map[string]any whose values are string, []any and map[string]any. It
// applies no model: "FromPort=22" yields the string "22".
func (ps Parser) Parse(s string) (map[string]any, error) {
	n, err := ps.parseShorthand(s)
	if err != nil {
		return nil, err
	}
	return n.value().(map[string]any), nil
}

func (ps Parser) parseShorthand(s string) (*node, error) {
	if err := checkUTF8(s); err != nil {
		return nil, err
	}
	p := &parser{s: s, readFile: ps.ReadFile}
	return p.parameter()
}

func checkUTF8(s string) error {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return newError(ErrSyntax, s, i, "input is not valid UTF-8")
			}
		}
	}
	return nil
}

// ParseIPPermissions turns the values given to --ip-permissions into EC2
// IpPermission values as JSON-compatible maps, one per permission, in
// order. Each argument is, as for the CLI, one of:
//
//   - shorthand for one permission:
//     IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=10.0.0.0/8}]
//   - a JSON list of permissions, or one JSON permission object;
//   - file://path, whose contents are one of the two above.
//
// Member names are EC2's (IpProtocol, FromPort, ToPort, IpRanges[].CidrIp,
// Ipv6Ranges[].CidrIpv6, PrefixListIds[].PrefixListId, UserIdGroupPairs[].
// GroupId/UserId/VpcId/VpcPeeringConnectionId, Description on each peer);
// any other key is an error naming it. Shorthand values are coerced as the
// CLI coerces them: ports become int, and a single value where a list is
// expected becomes a one-element list. JSON must already have the right
// types, as the CLI requires.
//
// Values are not validated beyond their type (that is the rules package's
// job), so "FromPort=99999" parses.
func (ps Parser) ParseIPPermissions(args []string) ([]map[string]any, error) {
	if len(args) == 0 {
		return nil, &Error{Kind: ErrEmpty, Line: 1, Column: 1, Msg: "no permission given"}
	}
	var out []map[string]any
	for i, arg := range args {
		perms, err := ps.parseArg(arg, len(out))
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Arg = i + 1
			}
			return nil, err
		}
		out = append(out, perms...)
	}
	if len(out) == 0 {
		return nil, &Error{Kind: ErrEmpty, Arg: 1, Line: 1, Column: 1, Msg: "no permission given (the JSON list is empty)"}
	}
	return out, nil
}

// parseArg parses one argument; first is the index its first permission
// will have in the result, for paths in errors.
func (ps Parser) parseArg(arg string, first int) ([]map[string]any, error) {
	src, file := arg, ""
	if name, ok := strings.CutPrefix(arg, filePrefix); ok {
		text, err := readText(ps.ReadFile, name)
		if err != nil {
			e := newError(ErrFile, arg, 0, "%v", err)
			e.Err = err
			return nil, e
		}
		src, file = text, name
	}
	out, err := ps.parsePermissions(src, first)
	var e *Error
	if file != "" && errors.As(err, &e) {
		e.File = file
	}
	return out, err
}

func (ps Parser) parsePermissions(src string, first int) ([]map[string]any, error) {
	c := converter{src: src}
	switch trimmed := strings.TrimLeft(src, " \t\r\n"); {
	case strings.HasPrefix(trimmed, "["):
		c.json = true
		n, err := parseJSON(src)
		if err != nil {
			return nil, err
		}
		if n.kind != kArray {
			return nil, c.typeError(n, "IpPermissions", "a list of permissions")
		}
		out := make([]map[string]any, 0, len(n.items))
		for i, it := range n.items {
			m, err := c.structure(it, ipPermission, "IpPermissions["+itoa(first+i)+"]")
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		return out, nil
	case strings.HasPrefix(trimmed, "{"):
		c.json = true
		n, err := parseJSON(src)
		if err != nil {
			return nil, err
		}
		m, err := c.structure(n, ipPermission, "IpPermissions["+itoa(first)+"]")
		if err != nil {
			return nil, err
		}
		return []map[string]any{m}, nil
	}
	n, err := ps.parseShorthand(src)
	if err != nil {
		return nil, err
	}
	m, err := c.structure(n, ipPermission, "IpPermissions["+itoa(first)+"]")
	if err != nil {
		return nil, err
	}
	return []map[string]any{m}, nil
}
