package main

import (
	"flag"
	"strings"

	"github.com/palisadehq/palisade/internal/flagenv"
)

// listFlag is a flag that takes several values, as the AWS CLI's list
// options do: `--ip-permissions A B`, or the flag repeated.
type listFlag struct {
	values []string
	// split also splits each value on commas and spaces, for lists of
	// plain ids (`--group-ids sg-1,sg-2`), where neither can occur.
	split bool
}

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.values, " ")
}

func (l *listFlag) Set(v string) error {
	if !l.split {
		l.values = append(l.values, v)
		return nil
	}
	l.values = append(l.values, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })...)
	return nil
}

// isList tells normalize that this flag swallows the arguments after it.
func (l *listFlag) isList() bool { return true }

func listVar(fs *flag.FlagSet, name, usage string, split bool) *listFlag {
	l := &listFlag{split: split}
	fs.Var(l, name, usage)
	return l
}

// parseFlags parses AWS CLI style arguments into fs, then fills the flags
// not given from PALISADE_* variables. It returns the positional
// arguments.
func parseFlags(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) ([]string, error) {
	flags, positional := normalize(fs, args)
	if err := flagenv.Parse(fs, flags, lookup); err != nil {
		return nil, err
	}
	return positional, nil
}

// normalize rewrites AWS CLI style arguments for the flag package, which
// takes one value per flag and stops at the first positional argument:
// a list flag takes every argument up to the next flag
// (`--ip-permissions A B` becomes `--ip-permissions A --ip-permissions B`),
// and positional arguments may come before, between or after flags.
// Anything it does not recognise is passed through for fs.Parse to report.
func normalize(fs *flag.FlagSet, args []string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(positional, args[i+1:]...)
		}
		if !isFlagToken(a) {
			positional = append(positional, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		switch {
		case f == nil || hasValue || isBool(f):
			flags = append(flags, a)
		case isList(f):
			n := 0
			for i+1 < len(args) && !isFlagToken(args[i+1]) {
				i++
				n++
				flags = append(flags, "--"+name, args[i])
			}
			if n == 0 {
				flags = append(flags, a) // fs.Parse reports the missing value
			}
		default:
			// A scalar takes the next argument whatever it looks like,
			// so `--port -1` works as in the AWS CLI.
			flags = append(flags, a)
			if i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	return flags, positional
}

// isFlagToken: "-" alone is a value (standard input), not a flag.
func isFlagToken(s string) bool { return len(s) > 1 && s[0] == '-' }

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func isList(f *flag.Flag) bool {
	l, ok := f.Value.(interface{ isList() bool })
	return ok && l.isList()
}
