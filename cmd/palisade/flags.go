package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/palisadehq/palisade/ec2sim"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/flagenv"
	"github.com/palisadehq/palisade/internal/logging"
	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/internal/ratebudget"
	"github.com/palisadehq/palisade/internal/tlsfiles"
	"github.com/palisadehq/palisade/workers"
)

// Flag defaults of the embedded setup (design: conventions).
const (
	defaultGRPCListen = "127.0.0.1:50051"
	defaultNATSListen = "127.0.0.1:4222"
	defaultNATSURL    = "nats://127.0.0.1:4222"
	defaultEC2Listen  = "127.0.0.1:4566"
	defaultDataDir    = "./.palisade"
)

// commandFlags is a subcommand's flag set with the flags every subcommand
// has.
type commandFlags struct {
	*flag.FlagSet
	logLevel  string
	logFormat string
	// checks run after parsing, for what one flag alone cannot say.
	checks []func() error
}

func newFlags(name string, stderr io.Writer) *commandFlags {
	fs := flag.NewFlagSet("palisade "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &commandFlags{FlagSet: fs}
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", logging.FormatText, "text (key=value) or json (one object a line)")
	return c
}

// parse reads the command line, then PALISADE_* variables for flags not
// given, and returns the logger the flags ask for.
func (c *commandFlags) parse(args []string, lookup func(string) (string, bool), stderr io.Writer) (*slog.Logger, error) {
	if err := flagenv.Parse(c.FlagSet, args, lookup); err != nil {
		return nil, err
	}
	if c.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", c.Args())
	}
	for _, check := range c.checks {
		if err := check(); err != nil {
			return nil, err
		}
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", c.logLevel, err)
	}
	log, err := logging.New(stderr, c.logFormat, lv)
	if err != nil {
		return nil, fmt.Errorf("--log-format: %w", err)
	}
	return log, nil
}

// apiFlags configure the gRPC front end of api and serve.
type apiFlags struct {
	listen string
	policy string
	// tlsCert, tlsKey and tlsClientCA turn mutual TLS on, all three
	// together; insecure allows a non-loopback listener without it.
	tlsCert, tlsKey, tlsClientCA string
	insecure                     bool
	// spiffeSocket takes the certificate and client CAs from a SPIFFE
	// Workload API instead of files.
	spiffeSocket string
	// serverTLS is the configuration loadTLS built; closeTLS releases
	// what it holds.
	serverTLS *tls.Config
	closeTLS  func()
	// callerRate and callerBurst bound each caller's changes.
	callerRate  float64
	callerBurst int
	// healthListen serves the health service alone, in plaintext, for
	// probes (serveHealth).
	healthListen string
}

func (a *apiFlags) register(fs *commandFlags) {
	fs.StringVar(&a.listen, "grpc-listen", defaultGRPCListen, "gRPC API address (without TLS: a loopback address only, unless --insecure)")
	fs.StringVar(&a.policy, "policy", "", "Cedar policy: a .cedar file, or a directory of them with an optional entities.json; reloaded on change "+
		"(\"\": allow everything on the insecure loopback default, the shipped guardrails otherwise)")
	fs.StringVar(&a.tlsCert, "tls-cert", "", "serve the API over mutual TLS 1.3 with this PEM certificate chain (with --tls-key and --tls-client-ca; "+
		"the files are re-read when they change)")
	fs.StringVar(&a.tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	fs.StringVar(&a.tlsClientCA, "tls-client-ca", "", "PEM CA certificates that verify client certificates; the caller is a client "+
		"certificate's SPIFFE ID (URI SAN), else its first DNS SAN, else its subject CN")
	fs.StringVar(&a.spiffeSocket, "spiffe-endpoint-socket", "", "serve the API over mutual TLS 1.3 with the X.509-SVID and trust bundle of this SPIFFE Workload API "+
		"(e.g. unix:///run/spire/agent.sock), instead of --tls-* files")
	fs.BoolVar(&a.insecure, "insecure", false, "serve the API without TLS on a non-loopback --grpc-listen: every caller is unauthenticated and \"local\"")
	fs.Float64Var(&a.callerRate, "caller-rate", 50, "changes per second one caller may make, sustained, in this API process (0: no limit); beyond it RESOURCE_EXHAUSTED with the wait")
	fs.IntVar(&a.callerBurst, "caller-burst", 100, "changes one caller may make at once before --caller-rate applies")
	fs.StringVar(&a.healthListen, "health-listen", "", "also serve the gRPC health service, alone and without TLS, on this address, for probes "+
		"that cannot present a client certificate (e.g. Kubernetes gRPC probes; \"\": none)")
	fs.checks = append(fs.checks, a.check)
}

// tls reports whether the API is served over mutual TLS.
func (a *apiFlags) tls() bool { return a.tlsCert != "" || a.spiffeSocket != "" }

// check names the flags at fault: the TLS files go together, and an API
// without TLS listens only on loopback unless --insecure says otherwise.
func (a *apiFlags) check() error {
	if a.callerRate < 0 || a.callerRate > 0 && a.callerBurst < 1 {
		return fmt.Errorf("--caller-rate %v with --caller-burst %d: the rate must be 0 (no limit) or positive, with a burst of at least 1", a.callerRate, a.callerBurst)
	}
	given := map[string]bool{"--tls-cert": a.tlsCert != "", "--tls-key": a.tlsKey != "", "--tls-client-ca": a.tlsClientCA != ""}
	var set, missing []string
	for _, f := range []string{"--tls-cert", "--tls-key", "--tls-client-ca"} {
		if given[f] {
			set = append(set, f)
		} else {
			missing = append(missing, f)
		}
	}
	if len(set) > 0 && a.spiffeSocket != "" {
		return fmt.Errorf("--spiffe-endpoint-socket and %s are two sources of the server's certificate: choose one", set[0])
	}
	if len(set) > 0 && len(missing) > 0 {
		verb := "needs"
		if len(set) > 1 {
			verb = "need"
		}
		return fmt.Errorf("%s %s %s: mutual TLS takes the certificate, its key and the CA certificates of the clients",
			strings.Join(set, " and "), verb, strings.Join(missing, " and "))
	}
	if a.tls() && a.insecure {
		return fmt.Errorf("--insecure and %s contradict each other: choose one", a.tlsSource())
	}
	host, _, err := net.SplitHostPort(a.listen)
	if err != nil {
		return fmt.Errorf("--grpc-listen %q: %w", a.listen, err)
	}
	if !a.tls() && !a.insecure && !loopback(host) {
		return fmt.Errorf("--grpc-listen %s is not a loopback address, and the API has no TLS: "+
			"give --tls-cert, --tls-key and --tls-client-ca (or --spiffe-endpoint-socket) to serve it with mutual TLS, "+
			"or --insecure to serve it unauthenticated to anyone who can reach it", a.listen)
	}
	return nil
}

// loopback reports whether host is a loopback address (or localhost);
// "" and 0.0.0.0 are every address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// reachable reports whether others than this machine's processes can
// call the API: over TLS, or on a non-loopback address.
func (a *apiFlags) reachable() bool { return a.tls() || !loopback(a.listenHost()) }

func (a *apiFlags) listenHost() string {
	host, _, _ := net.SplitHostPort(a.listen)
	return host
}

// tlsSource is the flag that turned TLS on.
func (a *apiFlags) tlsSource() string {
	if a.spiffeSocket != "" {
		return "--spiffe-endpoint-socket"
	}
	return "--tls-cert"
}

// workloadWait bounds the wait for the first X.509-SVID at start.
const workloadWait = 30 * time.Second

// loadTLS reads the TLS files, or gets the first SVID from the Workload
// API, before anything starts; the error names the flag at fault. Call
// closeTLS when done.
func (a *apiFlags) loadTLS(ctx context.Context, log *slog.Logger) error {
	a.closeTLS = func() {}
	if a.spiffeSocket != "" {
		wctx, cancel := context.WithTimeout(ctx, workloadWait)
		defer cancel()
		w, err := tlsfiles.OpenWorkload(wctx, a.spiffeSocket, log)
		if err != nil {
			return fmt.Errorf("--spiffe-endpoint-socket: %w", err)
		}
		a.closeTLS = func() { _ = w.Close() }
		if a.serverTLS, err = w.ServerConfig("h2"); err != nil {
			_ = w.Close()
			return fmt.Errorf("--spiffe-endpoint-socket: %w", err)
		}
		return nil
	}
	if !a.tls() {
		return nil
	}
	src, err := tlsfiles.Load(tlsfiles.Files{Cert: a.tlsCert, Key: a.tlsKey, CA: a.tlsClientCA}, log)
	if err != nil {
		var fe *tlsfiles.FileError
		if errors.As(err, &fe) {
			flag := map[tlsfiles.Part]string{tlsfiles.CertFile: "--tls-cert", tlsfiles.KeyFile: "--tls-key", tlsfiles.CAFile: "--tls-client-ca"}[fe.Part]
			return fmt.Errorf("%s: %w", flag, err)
		}
		return err
	}
	// gRPC speaks HTTP/2 and insists on it by ALPN.
	a.serverTLS, err = src.ServerConfig("h2")
	return err
}

// engine loads the policy that decides every call: --policy when given;
// otherwise, an API others can reach gets the guardrails Palisade ships,
// and the insecure loopback default allows everything (every caller there
// is "local").
func (a *apiFlags) engine(reachable bool) (*policy.Engine, error) {
	if a.policy == "" && !reachable {
		return policy.Permissive(), nil
	}
	e, err := policy.NewEngine(a.policy)
	if err != nil {
		return nil, fmt.Errorf("--policy: %w", err)
	}
	return e, nil
}

// simFlags are the local EC2 endpoint's knobs, all off by default.
type simFlags struct {
	throttle    bool
	speed       float64
	faultRate   float64
	latency     time.Duration
	dropRate    float64
	consistency time.Duration
}

func (s *simFlags) register(fs *commandFlags) {
	fs.BoolVar(&s.throttle, "ec2-throttle", false, "local EC2: throttle like EC2 (a token bucket per account, region and action, sized by its category)")
	fs.Float64Var(&s.speed, "ec2-speed-factor", 1, "local EC2: multiply the throttle refill rates by this")
	fs.Float64Var(&s.faultRate, "ec2-fault-rate", 0, "local EC2: fraction of calls answered InternalError or Unavailable")
	fs.DurationVar(&s.latency, "ec2-latency", 0, "local EC2: latency added to every call")
	fs.Float64Var(&s.dropRate, "ec2-drop-rate", 0, "local EC2: fraction of calls whose connection is dropped")
	fs.DurationVar(&s.consistency, "ec2-consistency-delay", 0, "local EC2: how long a new group or rule stays invisible to other calls")
}

func (s *simFlags) options(stateFile string) ec2sim.Options {
	return ec2sim.Options{
		Throttle: s.throttle, SpeedFactor: s.speed, FaultRate: s.faultRate, Latency: s.latency,
		DropRate: s.dropRate, ConsistencyDelay: s.consistency, StateFile: stateFile,
	}
}

// roleFlags choose how each account's EC2 calls are authorized.
type roleFlags struct {
	assumeRole string
	externalID string
}

func (r *roleFlags) register(fs *commandFlags) {
	fs.StringVar(&r.assumeRole, "assume-role", "", "ARN of the role to assume in each account, "+ec2client.AccountPlaceholder+
		" standing for the account id, e.g. arn:aws:iam::"+ec2client.AccountPlaceholder+":role/palisade (\"\": every account uses the base credentials)")
	fs.StringVar(&r.externalID, "assume-role-external-id", "", "external id passed with --assume-role, when the roles' trust policies require one")
	fs.checks = append(fs.checks, r.check)
}

// check names the flag at fault.
func (r *roleFlags) check() error {
	if r.assumeRole != "" {
		if err := ec2client.CheckRoleTemplate(r.assumeRole); err != nil {
			return fmt.Errorf("--assume-role: %w", err)
		}
	}
	if r.externalID != "" && r.assumeRole == "" {
		return errors.New("--assume-role-external-id needs --assume-role")
	}
	return nil
}

// options are the EC2 client options for endpoint ("" is AWS) and this
// many SDK attempts.
func (r *roleFlags) options(endpoint string, maxAttempts int) ec2client.Options {
	return ec2client.Options{Endpoint: endpoint, MaxAttempts: maxAttempts, AssumeRole: r.assumeRole, ExternalID: r.externalID}
}

// topologyFlags shape the streams, consumers and buckets every part
// declares. All parts against one NATS must agree on them, or each start
// flips the definitions back and forth.
type topologyFlags struct {
	replicas       int
	ackWait        time.Duration
	maxDeliver     int
	auditRetention time.Duration
}

func (t *topologyFlags) register(fs *commandFlags) {
	def := bus.DefaultTopology(1)
	fs.IntVar(&t.replicas, "replicas", 1, "replicas of streams and buckets (3 on a JetStream cluster)")
	fs.DurationVar(&t.ackWait, "ack-wait", def.AckWait, "how long a command held by a worker that stopped answering waits before it is redelivered")
	fs.IntVar(&t.maxDeliver, "max-deliver", def.MaxDeliver, "deliveries of one command before it is dead-lettered")
	fs.DurationVar(&t.auditRetention, "audit-retention", def.AuditRetention, "how long the audit stream keeps each decision")
}

func (t *topologyFlags) topology() bus.Topology {
	top := bus.DefaultTopology(t.replicas)
	top.AckWait, top.MaxDeliver, top.AuditRetention = t.ackWait, t.maxDeliver, t.auditRetention
	return top
}

const rateFactorUsage = "pace EC2 calls at EC2's default refill rates times this, in a budget shared by every worker and API process (0: no pacing)"

// workerFlags tune the workers.
type workerFlags struct {
	rateFactor    float64
	callTimeout   time.Duration
	maxAttempts   int
	shutdownGrace time.Duration
	maxCommands   int
}

func (w *workerFlags) register(fs *commandFlags) {
	fs.Float64Var(&w.rateFactor, "ec2-rate-factor", 1, rateFactorUsage)
	fs.DurationVar(&w.callTimeout, "ec2-call-timeout", 30*time.Second, "deadline of one EC2 call")
	fs.IntVar(&w.maxAttempts, "max-attempts", 10, "attempts of an operation after transient EC2 errors")
	fs.DurationVar(&w.shutdownGrace, "shutdown-grace", 20*time.Second, "on SIGTERM, how long commands in hand may finish before they are handed back")
	fs.IntVar(&w.maxCommands, "max-commands", workers.DefaultMaxCommands, "commands one worker process runs at once")
}

func (w *workerFlags) options() workers.Options {
	return workers.Options{
		Budget: ratebudget.New(w.rateFactor), CallTimeout: w.callTimeout, MaxAttempts: w.maxAttempts,
		ShutdownGrace: w.shutdownGrace, MaxCommands: w.maxCommands,
	}
}
