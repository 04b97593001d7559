package shorthand

import (
	"encoding/json"
	"errors"
	"strings"
)

// parseJSON reads one JSON value into nodes that remember their offsets.
// Stricter than the CLI (which keeps the last of repeated members): a
// member given twice is an error.
func parseJSON(s string) (*node, error) {
	// Check the whole text first: json.Unmarshal reports syntax errors at
	// absolute offsets (a Decoder's are relative to its buffer) and
	// catches text after the value.
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off := int(se.Offset) - 1 // Offset counts the bytes read, the bad one included
			if strings.Contains(se.Error(), "unexpected end") {
				off = len(s)
			}
			return nil, newError(ErrSyntax, s, off, "invalid JSON: %v", se)
		}
		return nil, newError(ErrSyntax, s, len(s), "invalid JSON: %v", err)
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	j := &jsonReader{s: s, d: d}
	return j.value()
}

type jsonReader struct {
	s string
	d *json.Decoder
}

// start is the offset where the next token begins: the decoder's offset
// after the previous token, past whitespace and the separators it skips.
func (j *jsonReader) start() int {
	i := int(j.d.InputOffset())
	for i < len(j.s) && (isSpace(j.s[i]) || j.s[i] == ',' || j.s[i] == ':') {
		i++
	}
	return i
}

// fail reports a decoder error. The text was validated before decoding,
// so this is reached only if the decoder and Unmarshal disagree.
func (j *jsonReader) fail(err error) *Error {
	return newError(ErrSyntax, j.s, j.start(), "invalid JSON: %v", err)
}

func (j *jsonReader) value() (*node, error) {
	pos := j.start()
	tok, err := j.d.Token()
	if err != nil {
		return nil, j.fail(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return j.array(pos)
		}
		if t == '{' {
			return j.object(pos)
		}
		return nil, newError(ErrSyntax, j.s, pos, "invalid JSON: unexpected %q", rune(t))
	case string:
		return &node{kind: kString, pos: pos, text: t}, nil
	case json.Number:
		return &node{kind: kNumber, pos: pos, text: string(t)}, nil
	case bool:
		return &node{kind: kBool, pos: pos, b: t}, nil
	}
	return &node{kind: kNull, pos: pos}, nil
}

func (j *jsonReader) array(pos int) (*node, error) {
	n := &node{kind: kArray, pos: pos, items: []*node{}}
	for j.d.More() {
		v, err := j.value()
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, v)
	}
	if _, err := j.d.Token(); err != nil {
		return nil, j.fail(err)
	}
	return n, nil
}

func (j *jsonReader) object(pos int) (*node, error) {
	n := newObject(pos)
	for j.d.More() {
		kpos := j.start()
		tok, err := j.d.Token()
		if err != nil {
			return nil, j.fail(err)
		}
		key, _ := tok.(string) // the decoder guarantees a string key here
		v, err := j.value()
		if err != nil {
			return nil, err
		}
		if !n.set(key, kpos, v) {
			return nil, newError(ErrDuplicateKey, j.s, kpos, "member %q given a second time in this object", key)
		}
	}
	if _, err := j.d.Token(); err != nil {
		return nil, j.fail(err)
	}
	return n, nil
}
