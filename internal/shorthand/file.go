package shorthand

import (
	"strings"
	"unicode/utf8"
)

// filePrefix marks a value to be read from a file, as in the CLI.
const filePrefix = "file://"

// loadFile replaces the value v of key@=… with the contents of the file it
// names. The contents are used as they are, trailing newline included, as
// the CLI does; they are a plain string, never parsed further.
func (p *parser) loadFile(key string, v *node) (*node, error) {
	if v.kind != kString || !strings.HasPrefix(v.text, filePrefix) {
		// The CLI passes such a value through unchanged; "@=" without a
		// file is far more likely a slip than an intent.
		return nil, p.errorf(ErrFile, v.pos, "%s@= needs a value of the form file://path", key)
	}
	text, err := readText(p.readFile, strings.TrimPrefix(v.text, filePrefix))
	if err != nil {
		e := p.errorf(ErrFile, v.pos, "%s@=: %v", key, err)
		e.Err = err
		return nil, e
	}
	return &node{kind: kString, pos: v.pos, text: text}, nil
}

// readText reads a file through readFile and checks that it is text.
func readText(readFile func(string) ([]byte, error), name string) (string, error) {
	if readFile == nil {
		return "", errFilesDisabled
	}
	if name == "" {
		return "", errNoFileName
	}
	b, err := readFile(name)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", &fileError{name: name, msg: "is not UTF-8 text"}
	}
	return string(b), nil
}

type fileError struct{ name, msg string }

func (e *fileError) Error() string { return e.name + " " + e.msg }

var (
	errFilesDisabled = &fileError{msg: "reading files is not enabled in this context"}
	errNoFileName    = &fileError{msg: "file:// names no file"}
)
