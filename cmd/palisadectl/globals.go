package main

import (
	"flag"
	"time"

	"github.com/google/uuid"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// Defaults. The account is the local EC2 endpoint's default, so the
// embedded `palisade serve` works with no configuration.
const (
	defaultServer         = "127.0.0.1:50051"
	defaultAccount        = "123456789012"
	defaultRegion         = "us-east-1"
	defaultConnectTimeout = 5 * time.Second
)

// regionVars are read, in order, when neither --region nor
// PALISADE_REGION is set, so an AWS CLI profile's region carries over.
var regionVars = []string{"AWS_REGION", "AWS_DEFAULT_REGION"}

// globalFlags are taken by every command.
type globalFlags struct {
	server         string
	account        string
	region         string
	output         string
	connectTimeout time.Duration
	timeout        time.Duration
	verbose        bool
	// tlsCert and tlsKey are the client certificate and key of mutual
	// TLS, tlsCA what verifies the server; any of them turns TLS on.
	tlsCert, tlsKey, tlsCA string
}

func (g *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.server, "server", defaultServer, "Palisade API address (host:port)")
	fs.StringVar(&g.account, "account-id", defaultAccount, "AWS account the request applies to")
	fs.StringVar(&g.region, "region", "", "AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION, else "+defaultRegion+")")
	fs.StringVar(&g.output, "output", "table", "table (aligned columns for people) or json (protojson, stable for scripts)")
	fs.DurationVar(&g.connectTimeout, "connect-timeout", defaultConnectTimeout, "give up reaching the server after this long")
	fs.DurationVar(&g.timeout, "timeout", 0, "give up the whole command after this long, --wait included (0: no limit)")
	fs.BoolVar(&g.verbose, "verbose", false, "say more on standard error (the request id, the server)")
	fs.StringVar(&g.tlsCert, "tls-cert", "", "call the server over mutual TLS with this client certificate (PEM), which names the caller; with --tls-key")
	fs.StringVar(&g.tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	fs.StringVar(&g.tlsCA, "tls-ca", "", "PEM CA certificates that verify the server's certificate (default with --tls-cert: the system's)")
}

// finish applies what flags alone cannot express, once they are parsed.
func (g *globalFlags) finish(lookup func(string) (string, bool)) error {
	if g.region == "" {
		g.region = defaultRegion
		for _, v := range regionVars {
			if r, ok := lookup(v); ok && r != "" {
				g.region = r
				break
			}
		}
	}
	switch g.output {
	case "table", "json":
	default:
		return usagef("--output %q: use table or json", g.output)
	}
	if g.connectTimeout <= 0 {
		return usagef("--connect-timeout must be positive")
	}
	if g.timeout < 0 {
		return usagef("--timeout must not be negative")
	}
	if (g.tlsCert == "") != (g.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together: the client certificate and its key")
	}
	return nil
}

// tls reports whether the server is called over TLS.
func (g *globalFlags) tls() bool { return g.tlsCert != "" || g.tlsCA != "" }

func (g *globalFlags) location() *palisadev1.Location {
	return &palisadev1.Location{AccountId: g.account, Region: g.region}
}

func (g *globalFlags) json() bool { return g.output == "json" }

// mutateFlags are taken by the commands that change EC2.
type mutateFlags struct {
	requestID    string
	wait         bool
	validateOnly bool
	// dryRun is the AWS CLI's name for validateOnly. It is a variable of
	// its own, so PALISADE_DRY_RUN=false cannot undo --validate-only.
	dryRun bool
}

func (m *mutateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.requestID, "request-id", "", "idempotency key, a UUID: the same key returns the same operation (default: a new one)")
	fs.BoolVar(&m.wait, "wait", false, "wait for the operation to end, printing its events on standard error, then print its result")
	fs.BoolVar(&m.validateOnly, "validate-only", false, "check the request on the server; change nothing")
	fs.BoolVar(&m.dryRun, "dry-run", false, "same as --validate-only")
}

// finish picks a request id, so a retry of this very invocation (by
// --request-id) can be made idempotent.
func (m *mutateFlags) finish() {
	m.validateOnly = m.validateOnly || m.dryRun
	if m.requestID == "" {
		m.requestID = uuid.NewString()
	}
}
