package shorthand

// kind is the type of a parsed value. Shorthand yields only objects,
// arrays and strings; JSON yields all six.
type kind int

const (
	kObject kind = iota + 1
	kArray
	kString
	kNumber
	kBool
	kNull
)

func (k kind) String() string {
	return [...]string{kObject: "a structure", kArray: "a list", kString: "a string",
		kNumber: "a number", kBool: "a boolean", kNull: "null"}[k]
}

// node is a parsed value that remembers where it was in the input, so
// errors found after parsing (an unknown key, a bad port) can still point
// at the right column.
type node struct {
	kind  kind
	pos   int    // byte offset of the value's first character
	text  string // kString: the value; kNumber: the literal
	b     bool   // kBool
	items []*node
	keys  []string // kObject: keys in input order
	kpos  []int    // kObject: byte offset of each key
	field map[string]*node
}

func newObject(pos int) *node { return &node{kind: kObject, pos: pos, field: map[string]*node{}} }

// set adds key to an object; it reports false if the key was already there.
func (n *node) set(key string, pos int, v *node) bool {
	if _, dup := n.field[key]; dup {
		return false
	}
	n.keys, n.kpos = append(n.keys, key), append(n.kpos, pos)
	n.field[key] = v
	return true
}

// value converts the node to the generic values of encoding/json.
func (n *node) value() any {
	switch n.kind {
	case kObject:
		m := make(map[string]any, len(n.keys))
		for _, k := range n.keys {
			m[k] = n.field[k].value()
		}
		return m
	case kArray:
		l := make([]any, len(n.items))
		for i, it := range n.items {
			l[i] = it.value()
		}
		return l
	case kBool:
		return n.b
	case kNull:
		return nil
	}
	return n.text
}
