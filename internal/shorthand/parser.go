package shorthand

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The grammar of aws-cli v2's shorthand.py:
//
//	parameter    = keyval *("," keyval)
//	keyval       = key ("=" / "@=") values
//	key          = 1*[A-Za-z0-9_.#/:-]
//	values       = csv-list / explicit-list / hash-literal
//	csv-list     = first-value *("," second-value)   ; a single value stays a string
//	explicit-list = "[" [ explicit-value *("," explicit-value) ] "]"
//	hash-literal = "{" [ key "=" explicit-value *("," key "=" explicit-value) ] "}"
//	explicit-value = explicit-list / hash-literal / first-value
//
// Whitespace around the separators is skipped; unquoted values keep inner
// spaces and lose trailing ones; "\," is a comma inside an unquoted value;
// '…' and "…" quote anything, with \' (or \") and \\ as escapes.
//
// The character classes below are shorthand.py's regular expressions,
// restricted to ASCII; every non-ASCII character is allowed wherever the
// CLI allows U+007C-U+FFFF.

// isSpace is Python's string.whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// startsValue: the first character of an unquoted value. Not a space or
// control character, and none of " ' , = [ {.
func startsValue(c byte) bool {
	if c >= utf8.RuneSelf {
		return true
	}
	return c > ' ' && !strings.ContainsRune(`"',=[{`, rune(c))
}

// continuesFirst: later characters of a first value (and of list items):
// anything but quotes, ',' ']' '}' and control characters; spaces and '='
// are kept.
func continuesFirst(c byte) bool {
	if c >= utf8.RuneSelf || isSpace(c) {
		return true
	}
	return c >= ' ' && !strings.ContainsRune(`"',]}`, rune(c))
}

// continuesSecond: later characters of the second and following values of
// a comma list: anything but quotes, ',' and '='. Meeting '=' is how the
// parser notices that "a=b,c=d" holds two keys, not a list.
func continuesSecond(c byte) bool {
	if c >= utf8.RuneSelf || isSpace(c) {
		return true
	}
	return c >= ' ' && !strings.ContainsRune(`"',=`, rune(c))
}

func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.#/:", c) >= 0
}

// parser is one pass over one shorthand string.
type parser struct {
	s        string
	i        int
	readFile func(string) ([]byte, error)
}

func (p *parser) eof() bool { return p.i >= len(p.s) }

// atEnd reports whether only whitespace is left.
func (p *parser) atEnd() bool {
	return strings.TrimLeft(p.s[p.i:], " \t\n\r\v\f") == ""
}

func (p *parser) cur() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *parser) skipSpace() {
	for !p.eof() && isSpace(p.s[p.i]) {
		p.i++
	}
}

func (p *parser) errorf(kind error, off int, format string, args ...any) *Error {
	return newError(kind, p.s, off, format, args...)
}

// expect consumes c, skipping whitespace around it when space is set.
func (p *parser) expect(c byte, space bool, context string) error {
	if space {
		p.skipSpace()
	}
	if p.eof() || p.s[p.i] != c {
		return p.errorf(ErrSyntax, p.i, "expected %q %s, found %s", c, context, describe(p.s, p.i))
	}
	p.i++
	if space {
		p.skipSpace()
	}
	return nil
}

func (p *parser) parameter() (*node, error) {
	obj := newObject(p.i)
	// Unlike shorthand.py, whitespace at the very end is ignored even after
	// a list or structure; it cannot change the meaning.
	for first := true; first || !p.atEnd(); first = false {
		if !first {
			if err := p.expect(',', true, "between key=value pairs"); err != nil {
				return nil, err
			}
		}
		key, kpos, v, err := p.keyval()
		if err != nil {
			return nil, err
		}
		if !obj.set(key, kpos, v) {
			return nil, p.errorf(ErrDuplicateKey, kpos, "key %q given a second time; for several values use a list (%s=[x,y]), and separate whole permissions with a space, not a comma", key, key)
		}
	}
	return obj, nil
}

func (p *parser) key() (string, int, error) {
	start := p.i
	for !p.eof() && isKeyChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return "", start, p.errorf(ErrSyntax, start, "expected a key (letters, digits and _.#/:-), found %s", describe(p.s, start))
	}
	return p.s[start:p.i], start, nil
}

// assign reads what follows a key: "=" or "@=". It reports whether the
// value is to be read from a file.
func (p *parser) assign(key string) (bool, error) {
	p.skipSpace()
	fromFile := p.cur() == '@'
	if fromFile {
		p.i++
	}
	return fromFile, p.expect('=', true, "after key "+quoteKey(key))
}

func quoteKey(k string) string { return `"` + k + `"` }

func (p *parser) keyval() (string, int, *node, error) {
	key, kpos, err := p.key()
	if err != nil {
		return "", 0, nil, err
	}
	fromFile, err := p.assign(key)
	if err != nil {
		return "", 0, nil, err
	}
	v, err := p.values()
	if err != nil {
		return "", 0, nil, err
	}
	if fromFile {
		if v, err = p.loadFile(key, v); err != nil {
			return "", 0, nil, err
		}
	}
	return key, kpos, v, nil
}

func (p *parser) values() (*node, error) {
	switch {
	case p.eof():
		return &node{kind: kString, pos: p.i}, nil
	case p.cur() == '[':
		return p.explicitList()
	case p.cur() == '{':
		return p.hashLiteral()
	}
	return p.csvValue()
}

// csvValue reads "a" (a string) or "a,b,c" (a list). Having read a comma it
// cannot know whether a value or the next key follows ("a=b,c=d"), so it
// tries a value and, on failure anywhere but at the end of input, backs up
// to the last comma and leaves the rest to the caller, as shorthand.py does.
func (p *parser) csvValue() (*node, error) {
	first, err := p.firstValue()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() || p.cur() != ',' {
		return first, nil
	}
	if err := p.expect(',', true, ""); err != nil {
		return nil, err
	}
	list := &node{kind: kArray, pos: first.pos, items: []*node{first}}
	for {
		v, err := p.secondValue()
		if err == nil {
			p.skipSpace()
			if p.eof() {
				list.items = append(list.items, v)
				break
			}
			err = p.expect(',', true, "")
			if err == nil {
				list.items = append(list.items, v)
				continue
			}
		}
		if p.eof() {
			return nil, err
		}
		for p.i > 0 && p.s[p.i] != ',' {
			p.i--
		}
		break
	}
	if len(list.items) == 1 {
		return first, nil
	}
	return list, nil
}

func (p *parser) explicitList() (*node, error) {
	list := &node{kind: kArray, pos: p.i, items: []*node{}}
	if err := p.expect('[', true, ""); err != nil {
		return nil, err
	}
	for p.eof() || p.cur() != ']' {
		v, err := p.explicitValue()
		if err != nil {
			return nil, err
		}
		list.items = append(list.items, v)
		p.skipSpace()
		if p.eof() || p.cur() != ']' {
			if err := p.expect(',', false, "or ']' in list opened at column "+column(p.s, list.pos)); err != nil {
				return nil, err
			}
			p.skipSpace()
		}
	}
	p.i++ // ']'
	return list, nil
}

func (p *parser) hashLiteral() (*node, error) {
	obj := newObject(p.i)
	if err := p.expect('{', true, ""); err != nil {
		return nil, err
	}
	for p.eof() || p.cur() != '}' {
		key, kpos, err := p.key()
		if err != nil {
			return nil, err
		}
		fromFile, err := p.assign(key)
		if err != nil {
			return nil, err
		}
		v, err := p.explicitValue()
		if err != nil {
			return nil, err
		}
		if fromFile {
			if v, err = p.loadFile(key, v); err != nil {
				return nil, err
			}
		}
		p.skipSpace()
		if p.eof() || p.cur() != '}' {
			if err := p.expect(',', false, "or '}' in structure opened at column "+column(p.s, obj.pos)); err != nil {
				return nil, err
			}
			p.skipSpace()
		}
		// Stricter than shorthand.py, which keeps the last value silently.
		if !obj.set(key, kpos, v) {
			return nil, p.errorf(ErrDuplicateKey, kpos, "key %q given a second time in this structure", key)
		}
	}
	p.i++ // '}'
	return obj, nil
}

func column(s string, off int) string {
	_, c := position(s, off)
	return strconv.Itoa(c)
}

func (p *parser) explicitValue() (*node, error) {
	switch p.cur() {
	case '[':
		return p.explicitList()
	case '{':
		return p.hashLiteral()
	}
	return p.firstValue()
}

func (p *parser) firstValue() (*node, error) {
	switch p.cur() {
	case '\'', '"':
		return p.quoted()
	}
	start := p.i
	p.scan(startsValue, continuesFirst)
	return &node{kind: kString, pos: start, text: unescapeComma(p.s[start:p.i])}, nil
}

func (p *parser) secondValue() (*node, error) {
	switch p.cur() {
	case '\'', '"':
		return p.quoted()
	}
	start := p.i
	if !p.scan(startsValue, continuesSecond) {
		return nil, p.errorf(ErrSyntax, start, "expected a value, found %s", describe(p.s, start))
	}
	return &node{kind: kString, pos: start, text: unescapeComma(p.s[start:p.i])}, nil
}

// scan consumes one unquoted value, "\," counting as one character, and
// reports whether it consumed anything.
func (p *parser) scan(first, rest func(byte) bool) bool {
	start := p.i
	for !p.eof() {
		c := p.s[p.i]
		switch {
		case c == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] == ',':
			p.i += 2
		case p.i == start && first(c), p.i > start && rest(c):
			p.i++
		default:
			return p.i > start
		}
	}
	return p.i > start
}

func unescapeComma(v string) string {
	return strings.TrimRightFunc(strings.ReplaceAll(v, `\,`, ","), unicode.IsSpace)
}

// quoted reads a '…' or "…" value. It follows the CLI's regular
// expression exactly, including its backtracking: the value ends at the
// first quote not escaped by a backslash, or, if the input runs out first,
// at the last quote character of the input.
func (p *parser) quoted() (*node, error) {
	q, start := p.s[p.i], p.i
	end := -1
	for j := start + 1; j < len(p.s); {
		switch {
		case p.s[j] == '\\' && j+1 < len(p.s) && (p.s[j+1] == '\\' || p.s[j+1] == q):
			j += 2
		case p.s[j] == q:
			end = j
		default:
			j++
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		end = strings.LastIndexByte(p.s[start+1:], q)
		if end < 0 {
			return nil, p.errorf(ErrSyntax, start, "quote %c opened here is never closed", q)
		}
		end += start + 1
	}
	v := p.s[start+1 : end]
	v = strings.ReplaceAll(v, `\`+string(q), string(q))
	v = strings.ReplaceAll(v, `\\`, `\`)
	p.i = end + 1
	return &node{kind: kString, pos: start, text: v}, nil
}
