package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// command is one palisadectl command.
type command struct {
	name    string
	args    string // positional arguments, for the usage line
	summary string
	// mutating commands change EC2 through an operation and take
	// --request-id, --wait and --validate-only.
	mutating bool
	// setup registers the command's own flags and returns what runs once
	// they are parsed.
	setup func(fs *flag.FlagSet) action
}

// action runs a command with its positional arguments.
type action func(ctx context.Context, e *env, args []string) error

// commands, in the order --help lists them.
func commands() []command {
	return []command{
		createCommand(),
		authorizeCommand(ingress), authorizeCommand(egress),
		revokeCommand(ingress), revokeCommand(egress),
		deleteCommand(),
		describeCommand(), describeRulesCommand(),
		tagCommand("create-tags"), tagCommand("delete-tags"),
		modifyRulesCommand(), updateDescriptionsCommand(ingress), updateDescriptionsCommand(egress),
		searchCommand(),
		getOperationCommand(),
		listOperationsCommand(),
		watchCommand(),
		rolloutStartCommand(), rolloutRemediateCommand(), rolloutGetCommand(), rolloutListCommand(), rolloutWatchCommand(),
		rolloutControlCommand("pause"), rolloutControlCommand("resume"), rolloutControlCommand("cancel"),
		rolloutRollbackCommand(),
		cancelOperationCommand(),
		auditCommand(),
	}
}

func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	cmds := commands()
	name, rest := splitCommand(cmds, args)
	i := slices.IndexFunc(cmds, func(c command) bool { return c.name == name })
	if i < 0 {
		if name == "" && wantsHelp(args) {
			printUsage(stdout, cmds)
			return exitOK
		}
		if name == "" {
			fmt.Fprint(stderr, "palisadectl: no command given\n\n")
		}
		printUsage(stderr, cmds)
		return exitUsage
	}
	cmd := cmds[i]

	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, lookup: lookup}
	fs := flag.NewFlagSet("palisadectl "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed below, with a pointer to --help
	e.g.register(fs)
	if cmd.mutating {
		e.m.register(fs)
	}
	act := cmd.setup(fs)
	pos, err := parseFlags(fs, rest, lookup)
	if errors.Is(err, flag.ErrHelp) {
		printCommandUsage(stdout, cmd, fs)
		return exitOK
	}
	if err == nil {
		err = e.g.finish(lookup)
	}
	if err != nil {
		fmt.Fprintf(stderr, "palisadectl %s: %v\nRun 'palisadectl %s --help' for its flags.\n", cmd.name, unwrapExit(err), cmd.name)
		return exitUsage
	}
	e.m.finish()

	if e.g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.g.timeout)
		defer cancel()
	}
	defer e.close()
	err = act(ctx, e, pos)
	if unreachable(err) {
		defer fmt.Fprintf(stderr, "palisadectl: is Palisade running at %s? Choose the server with --server or PALISADE_SERVER.\n", e.g.server)
	}
	return report(stderr, err)
}

func unwrapExit(err error) error {
	var ee *exitErr
	if errors.As(err, &ee) {
		return ee.err
	}
	return err
}

// splitCommand finds the command name, allowing flags before it as in
// `aws --region eu-west-1 ec2 …`; everything else is the command's.
func splitCommand(cmds []command, args []string) (string, []string) {
	probe := flag.NewFlagSet("", flag.ContinueOnError)
	var g globalFlags
	g.register(probe)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !isFlagToken(a) {
			// Two-word commands: `rollout start`, `rollout watch`, …
			if a == rolloutGroup && i+1 < len(args) && !isFlagToken(args[i+1]) {
				return a + " " + args[i+1], append(slices.Clone(args[:i]), args[i+2:]...)
			}
			return a, append(slices.Clone(args[:i]), args[i+1:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := probe.Lookup(name); f != nil && !hasValue && !isBool(f) {
			i++ // skip the flag's value
		}
	}
	return "", args
}

func wantsHelp(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "-h" || a == "-help" || a == "--help" || a == "help"
	})
}
