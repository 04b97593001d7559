// Package flagenv lets every command-line flag also come from a PALISADE_*
// environment variable, so containers and scripts configure the same names.
package flagenv

import (
	"flag"
	"fmt"
	"strings"
)

// Prefix starts every variable: --data-dir is PALISADE_DATA_DIR.
const Prefix = "PALISADE_"

// VarName is the environment variable of a flag.
func VarName(flagName string) string {
	return Prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args, then sets each flag not given on the command line
// from its variable, looked up with lookup (os.LookupEnv in a main). A
// command-line flag wins over the environment.
func Parse(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := lookup(VarName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", VarName(f.Name), v, e)
			}
		}
	})
	return err
}
