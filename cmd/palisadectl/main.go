// Command palisadectl is the Palisade client. Its commands and flags are
// named like the AWS CLI's, so `aws ec2 create-security-group …` becomes
// `palisadectl create-security-group …` with nothing else changed.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Interrupting a --wait stops the wait, not the operation: it is
	// already stored and will run; the message says how to follow it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
