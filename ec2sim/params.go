package ec2sim

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// params is a decoded EC2 Query request: the flat form keys
// ("IpPermissions.1.IpRanges.2.CidrIp") arranged as a tree by their dotted
// segments. Decoders walk the tree and mark every leaf they read; whatever is
// left unread afterwards is a parameter the action does not know, which EC2
// refuses with UnknownParameter instead of silently ignoring it.
//
// Building the tree once keeps decoding linear in the number of keys; looking
// nested lists up by prefix scanning would be quadratic, which a hostile body
// of 20 000 keys would turn into a denial of service.
// maxKeyDepth bounds the dotted depth of a key; the deepest real EC2 key here
// has five segments (TagSpecification.1.Tag.1.Key), and an unbounded depth
// would let one key build a tree a million nodes deep.
const maxKeyDepth = 8

type params struct {
	root *pnode
}

type pnode struct {
	path     string // full dotted key, for error messages
	value    string
	hasValue bool
	used     bool
	children map[string]*pnode
}

// parseParams builds the tree from an already split form. Repeated keys are
// refused: EC2 lists are indexed, so a repeat is a client bug, and picking one
// of the values silently would hide it.
func parseParams(form url.Values) (*params, *apiError) {
	if len(form) > maxParams {
		return nil, clientErr(codeMalformedQueryString, "The request has more than %d parameters.", maxParams)
	}
	root := &pnode{}
	for key, vals := range form {
		if len(vals) > 1 {
			return nil, clientErr(codeMalformedQueryString, "The parameter %s appears more than once.", key)
		}
		if strings.Count(key, ".") > maxKeyDepth {
			return nil, clientErr(codeUnknownParameter, "The parameter %s is not recognized", key)
		}
		n := root
		for seg := range strings.SplitSeq(key, ".") {
			if n.children == nil {
				n.children = make(map[string]*pnode)
			}
			c := n.children[seg]
			if c == nil {
				p := seg
				if n != root {
					p = n.path + "." + seg
				}
				c = &pnode{path: p}
				n.children[seg] = c
			}
			n = c
		}
		n.value, n.hasValue = vals[0], true
	}
	return &params{root: root}, nil
}

// child returns the named child or nil; a nil node answers every query as
// "absent", which keeps the decoders free of nil checks.
func (n *pnode) child(name string) *pnode {
	if n == nil {
		return nil
	}
	return n.children[name]
}

// str reads a scalar leaf and marks it used.
func (n *pnode) str(name string) (string, bool) {
	c := n.child(name)
	if c == nil || !c.hasValue {
		return "", false
	}
	c.used = true
	return c.value, true
}

// has reports whether any key exists under name, without consuming it.
func (n *pnode) has(name string) bool { return n.child(name) != nil }

// items returns the members of a flat EC2 list ("Name.1", "Name.2", …) in index
// order. Only canonical positive decimal indices count; anything else (Name.0,
// Name.01, Name.x) stays unread and is reported as an unknown parameter. Gaps
// are tolerated, as EC2 does.
func (n *pnode) items(name string) []*pnode {
	c := n.child(name)
	if c == nil {
		return nil
	}
	type indexed struct {
		i int
		n *pnode
	}
	var out []indexed
	for seg, m := range c.children {
		if i, ok := listIndex(seg); ok {
			out = append(out, indexed{i, m})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].i < out[b].i })
	nodes := make([]*pnode, len(out))
	for k, x := range out {
		nodes[k] = x.n
	}
	return nodes
}

func listIndex(seg string) (int, bool) {
	if seg == "" || seg[0] == '0' || len(seg) > 9 {
		return 0, false
	}
	for _, r := range seg {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(seg)
	return i, err == nil
}

// leaf reads a list member that is itself a scalar ("GroupId.3=sg-…").
func (n *pnode) leaf() (string, bool) {
	if n == nil || !n.hasValue {
		return "", false
	}
	n.used = true
	return n.value, true
}

// strList reads a flat list of scalars.
func (n *pnode) strList(name string) []string {
	var out []string
	for _, it := range n.items(name) {
		if v, ok := it.leaf(); ok {
			out = append(out, v)
		}
	}
	return out
}

// int32Param reads an optional integer; wire name is used in the error, as
// EC2 names the parameter it could not parse.
func (n *pnode) int32Param(name string) (*int32, *apiError) {
	v, ok := n.str(name)
	if !ok {
		return nil, nil
	}
	i, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return nil, clientErr(codeInvalidParameterValue, "Value (%s) for parameter %s is invalid. Expected: 'Integer'.", v, lowerFirst(name))
	}
	x := int32(i)
	return &x, nil
}

// boolParam reads an optional boolean ("true"/"false", any case).
func (n *pnode) boolParam(name string) (bool, *apiError) {
	v, ok := n.str(name)
	if !ok {
		return false, nil
	}
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, clientErr(codeInvalidParameterValue, "Value (%s) for parameter %s is invalid. Expected: 'Boolean'.", v, lowerFirst(name))
}

// unused returns the first (sorted) key nobody read, for UnknownParameter.
func (p *params) unused() (string, bool) {
	var keys []string
	var walk func(n *pnode)
	walk = func(n *pnode) {
		if n.hasValue && !n.used {
			keys = append(keys, n.path)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(p.root)
	if len(keys) == 0 {
		return "", false
	}
	sort.Strings(keys)
	return keys[0], true
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
