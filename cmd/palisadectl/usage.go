package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

const intro = `usage: palisadectl <command> [flags]

The Palisade client. Changes to security groups go through Palisade, which
validates them, stores them and applies them to EC2 one by one. Commands
and flags are the AWS CLI's: 'aws ec2 <command> …' is 'palisadectl <command> …'.
`

const trailer = `Mutating commands also take:
  --request-id UUID   idempotency key (default: a new one each run)
  --wait              wait for the end, events on standard error, then print the result
  --validate-only     check on the server, change nothing (alias --dry-run)
Without --wait, an accepted change prints its operation name and exits 0.

Every flag can also be set as PALISADE_<FLAG>, e.g. PALISADE_SERVER,
PALISADE_ACCOUNT_ID, PALISADE_REGION; a flag on the command line wins.

Exit codes:
  0  success
  1  any other error
  2  usage error or invalid input (found locally, or INVALID_ARGUMENT from
     the server; every field violation is printed)
  3  the operation ended FAILED or CANCELLED (its EC2 error code is printed)
  4  the server could not be reached, or answered UNAVAILABLE

Run 'palisadectl <command> --help' for a command's flags.
`

func printUsage(w io.Writer, cmds []command) {
	fmt.Fprint(w, intro)
	fmt.Fprintln(w, "\nCommands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nFlags of every command:")
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	var g globalFlags
	g.register(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w)
	fmt.Fprint(w, trailer)
}

func printCommandUsage(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: palisadectl %s [flags]\n\n%s\n\nFlags:\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, "\nList flags (--ip-permissions, --tags, …) take several values, as in the AWS CLI.\n")
	fmt.Fprint(w, "Run 'palisadectl --help' for the environment variables and exit codes.\n")
}
