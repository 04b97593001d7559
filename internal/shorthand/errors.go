package shorthand

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sentinel errors; every *Error matches exactly one of them with errors.Is.
var (
	// ErrSyntax: the text is neither valid shorthand nor valid JSON.
	ErrSyntax = errors.New("syntax error")
	// ErrDuplicateKey: a key appears twice in one structure.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrUnknownKey: a key the EC2 model does not have (or Palisade does
	// not support) at that place.
	ErrUnknownKey = errors.New("unknown key")
	// ErrType: a value of the wrong kind, such as a port that is not an
	// integer or a structure where a string belongs.
	ErrType = errors.New("wrong type")
	// ErrFile: a file:// value could not be read or is not allowed.
	ErrFile = errors.New("file error")
	// ErrEmpty: no permission was given at all.
	ErrEmpty = errors.New("nothing given")
)

// Error is a problem at one place of one input.
type Error struct {
	Kind error // one of the sentinel errors
	// Arg is the 1-based position of the argument among those given to
	// ParseIPPermissions, 0 for Parse.
	Arg int
	// File names the file the input came from, if it came from a
	// file:// argument.
	File string
	// Path is the member path of the offending value, such as
	// "IpPermissions[0].IpRanges[1].CidrIp", or "" for a syntax error.
	Path string
	// Offset is the byte offset of the problem in the input; Line and
	// Column (counted in characters) are 1-based.
	Offset, Line, Column int
	Msg                  string
	// Err is the underlying cause, such as the file system's error.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Arg > 0 {
		fmt.Fprintf(&b, "argument %d", e.Arg)
	}
	if e.File != "" {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "file %s", e.File)
	}
	if b.Len() > 0 {
		b.WriteString(", ")
	}
	fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap exposes the sentinel kind and the underlying cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// newError builds an Error at byte offset off of input.
func newError(kind error, input string, off int, format string, args ...any) *Error {
	line, col := position(input, off)
	return &Error{Kind: kind, Offset: off, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// position turns a byte offset into a 1-based line and character column.
func position(s string, off int) (line, col int) {
	off = min(max(off, 0), len(s))
	before := s[:off]
	line = strings.Count(before, "\n") + 1
	if nl := strings.LastIndexByte(before, '\n'); nl >= 0 {
		before = before[nl+1:]
	}
	return line, utf8.RuneCountInString(before) + 1
}

// describe names the character at off for a message ("','", "end of input").
func describe(s string, off int) string {
	if off >= len(s) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(s[off:])
	return fmt.Sprintf("%q", r)
}
