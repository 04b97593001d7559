// Package natsembed runs a NATS server with JetStream inside the process, the
// embedded default of `palisade serve` and of the integration tests.
package natsembed

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configure the embedded server.
type Options struct {
	// StoreDir is where JetStream keeps its files.
	StoreDir string
	// Listen is host:port for clients; "" serves only in-process clients.
	Listen string
	// SyncAlways makes JetStream fsync every write before acknowledging it,
	// so an acknowledged command survives a machine crash, not only a
	// process crash. It costs publish throughput (see the README).
	SyncAlways bool
	// Name is the server name; defaults to "palisade". Every node of a
	// cluster needs its own.
	Name string
	// Cluster, when set, makes the server one node of a JetStream cluster.
	Cluster *ClusterOptions
	// Users, when set, turn authentication on: only these nkey users of
	// Account may connect, in-process clients too, each with its role's
	// permissions (bus.Role.Permissions).
	Users []User
	// TLS, when set, serves the client port over TLS.
	TLS *TLSFiles
	// MaxStore bounds what JetStream keeps on disk, in bytes. 0 leaves it
	// to NATS: three quarters of the disk's free space when the server
	// starts. Streams with a byte limit reserve it against this bound
	// (bus.Topology.Reserved), and one that does not fit is refused.
	MaxStore int64
}

// TLSFiles are the PEM files of the client port's TLS.
type TLSFiles struct {
	Cert, Key string
	// CA, when set, verifies client certificates, which every client must
	// then present (it still authenticates by nkey).
	CA string
}

// ClusterOptions join the server to a JetStream cluster (reference §6.2).
type ClusterOptions struct {
	// Name of the cluster; the same on every node.
	Name string
	// Listen is host:port for the routes of the other nodes.
	Listen string
	// Routes are the route URLs of every node (this one's may be among
	// them), e.g. nats://127.0.0.1:6222.
	Routes []string
}

// Start starts the server and waits until it accepts connections.
func Start(o Options) (*server.Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("natsembed: StoreDir is required")
	}
	opts := &server.Options{}
	if len(o.Users) > 0 {
		// Accounts given as Options fields get no JetStream; parsed from
		// a configuration they do, as in a standalone server's file.
		if err := opts.ProcessConfigString(AccountsConfig(o.Users, "")); err != nil {
			return nil, fmt.Errorf("natsembed: users: %w", err)
		}
	}
	opts.ServerName = o.Name
	opts.JetStream = true
	opts.StoreDir = o.StoreDir
	opts.SyncAlways = o.SyncAlways
	opts.JetStreamMaxStore = o.MaxStore
	opts.NoSigs = true
	opts.NoLog = true
	opts.DontListen = o.Listen == ""
	if t := o.TLS; t != nil {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: t.Cert, KeyFile: t.Key, CaFile: t.CA, Verify: t.CA != ""})
		if err != nil {
			return nil, fmt.Errorf("natsembed: TLS: %w", err)
		}
		opts.TLSConfig, opts.TLSVerify, opts.TLSTimeout = tc, t.CA != "", 2
	}
	if opts.ServerName == "" {
		opts.ServerName = "palisade"
	}
	if o.Listen != "" {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("natsembed: listen address %q: %w", o.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("natsembed: listen port %q: %w", port, err)
		}
		if p == 0 {
			// nats-server reads port 0 as its default, 4222; it wants -1
			// for "any free port".
			p = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, p
	}
	if c := o.Cluster; c != nil {
		host, port, err := net.SplitHostPort(c.Listen)
		if err != nil {
			return nil, fmt.Errorf("natsembed: cluster listen address %q: %w", c.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("natsembed: cluster listen port %q: %w", port, err)
		}
		opts.Cluster = server.ClusterOpts{Name: c.Name, Host: host, Port: p}
		opts.Routes = server.RoutesFromStr(strings.Join(c.Routes, ","))
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("natsembed: server not ready within 15s")
	}
	return ns, nil
}
