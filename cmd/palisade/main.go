// Command palisade runs Palisade: `serve` runs everything in one process on
// the embedded default; `api`, `worker` and `ec2sim` run one part each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/palisadehq/palisade/internal/buildinfo"
)

const usage = `usage: palisade <command> [flags]

commands:
  serve    API, workers, an embedded NATS server and a local EC2 endpoint in one process
  api      the gRPC front end, against --nats-url
  worker   a worker, against --nats-url and --ec2-endpoint (none: real AWS)
  ec2sim   the local EC2-compatible endpoint alone
  declare  declare the streams, consumers and buckets on --nats-url (NATS role admin)

Every flag can also be set as PALISADE_<FLAG_NAME>, e.g. PALISADE_DATA_DIR.
Run 'palisade <command> -h' for its flags, 'palisade --version' for the build.
`

func main() {
	if len(os.Args) == 2 && isVersionFlag(os.Args[1]) {
		fmt.Println("palisade", buildinfo.Read())
		return
	}
	tuneGC(os.LookupEnv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	commands := map[string]func(context.Context, []string, func(string) (string, bool), io.Writer) error{
		"serve":   runServe,
		"api":     runAPI,
		"worker":  runWorker,
		"ec2sim":  runEC2Sim,
		"declare": runDeclare,
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "palisade: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err := cmd(ctx, args[1:], lookup, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "palisade %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// isVersionFlag reports whether arg asks for the build's version.
func isVersionFlag(arg string) bool {
	return arg == "--version" || arg == "-version" || arg == "version"
}
