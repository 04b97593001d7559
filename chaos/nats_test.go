package chaos

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsauth"
	"github.com/palisadehq/palisade/internal/natsembed"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
)

// natsNode is one NATS server on loopback with file storage, which can be
// stopped and started again on the same port and store.
type natsNode struct {
	name string
	url  string
	// Either embedded, the server of `palisade serve`, or shipped, the
	// options read from the shipped configuration of a cluster node.
	embedded natsembed.Options
	shipped  *server.Options

	mu  sync.Mutex
	srv *server.Server
}

// natsCluster is one node, or a JetStream cluster of three, in the
// production shape: a user per role (bus.Roles, with the permissions of
// bus.Role.Permissions) authenticating by nkey, and TLS with client
// certificates on the client port (and, in the cluster, between nodes,
// as the shipped configuration has it). The CA, certificates and seeds
// are made at run time in the test's directory.
type natsCluster struct {
	t     testing.TB
	nodes []*natsNode
	creds natsauth.Credentials
	ca    *tlstest.CA
	// client is the certificate every client presents.
	client *tlstest.Cert
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t testing.TB) int { return freePorts(t, 1)[0] }

// freePorts returns n distinct loopback ports nobody listens on right now.
// All n are held open until every one is chosen: closing each before
// asking for the next lets the kernel hand the same port out twice.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// startNATS starts one node as `palisade serve` embeds it, or a cluster of
// three nodes each running the shipped configuration
// (deploy/nats/nats-server.conf), and waits until JetStream answers.
func startNATS(t testing.TB, n int) *natsCluster {
	t.Helper()
	c := &natsCluster{t: t}
	dir := t.TempDir()
	var err error
	if c.creds, err = natsauth.EnsureCredentials(filepath.Join(dir, "nkeys"), bus.Roles()...); err != nil {
		t.Fatal(err)
	}
	users, err := c.creds.Users(bus.Roles()...)
	if err != nil {
		t.Fatal(err)
	}
	c.ca = tlstest.NewCA(t, "palisade chaos CA")
	c.client = c.ca.Client(t, "spiffe://palisade.test/chaos")
	// Nodes verify each other both ways on the routes: the node
	// certificate serves and authenticates.
	node := c.ca.Issue(t, tlstest.Spec{CommonName: "palisade chaos nats", DNSNames: []string{"localhost"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true, Client: true})
	if n == 1 {
		port := freePort(t)
		c.nodes = []*natsNode{{name: "n0", url: fmt.Sprintf("nats://127.0.0.1:%d", port), embedded: natsembed.Options{
			StoreDir: filepath.Join(dir, "n0"),
			Listen:   fmt.Sprintf("127.0.0.1:%d", port),
			Name:     "n0",
			Users:    users,
			TLS:      &natsembed.TLSFiles{Cert: node.CertFile, Key: node.KeyFile, CA: c.ca.File},
		}}}
	} else {
		c.nodes = shippedCluster(t, n, dir, users, node, c.ca)
	}
	// A cluster node waits for its peers before it is ready: start them
	// together.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, nd := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = nd.start() }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			nd.stop()
		}
	})
	c.waitJetStream()
	return c
}

// shippedConfig is the configuration of a cluster node users deploy.
const shippedConfig = "../deploy/nats/nats-server.conf"

// shippedCluster reads the shipped configuration once per node, with the
// environment it names set as a deployment sets it: the roles' public
// keys, the node certificate (serving clients and routes) and the CA,
// and each node's name, ports and store.
func shippedCluster(t testing.TB, n int, dir string, users []natsembed.User, cert *tlstest.Cert, ca *tlstest.CA) []*natsNode {
	t.Helper()
	if n != 3 {
		t.Fatalf("the shipped configuration is a 3-node cluster, not %d", n)
	}
	for i, r := range bus.Roles() {
		t.Setenv(natsauth.NKeyVariable(r), users[i].NKey)
	}
	sys, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	sysPub, err := sys.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PALISADE_NKEY_SYS", sysPub)
	t.Setenv("NATS_TLS_CERT", cert.CertFile)
	t.Setenv("NATS_TLS_KEY", cert.KeyFile)
	t.Setenv("NATS_TLS_CA", ca.File)
	ports := freePorts(t, 2*n) // n client ports, then n route ports
	for i := range n {
		t.Setenv(fmt.Sprintf("NATS_ROUTE_%d", i+1), fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i]))
	}
	var nodes []*natsNode
	for i := range n {
		name := fmt.Sprintf("n%d", i)
		t.Setenv("NATS_SERVER_NAME", name)
		t.Setenv("NATS_LISTEN", fmt.Sprintf("127.0.0.1:%d", ports[i]))
		t.Setenv("NATS_CLUSTER_LISTEN", fmt.Sprintf("127.0.0.1:%d", ports[n+i]))
		t.Setenv("NATS_STORE_DIR", filepath.Join(dir, name))
		opts, err := server.ProcessConfigFile(shippedConfig)
		if err != nil {
			t.Fatal(err)
		}
		opts.NoSigs, opts.NoLog = true, true
		nodes = append(nodes, &natsNode{name: name, url: fmt.Sprintf("nats://127.0.0.1:%d", ports[i]), shipped: opts})
	}
	return nodes
}

func (n *natsNode) start() error {
	var srv *server.Server
	var err error
	if n.shipped != nil {
		srv, err = startShipped(n.shipped.Clone())
	} else {
		srv, err = natsembed.Start(n.embedded)
	}
	if err != nil {
		return fmt.Errorf("NATS node %s: %w", n.name, err)
	}
	n.mu.Lock()
	n.srv = srv
	n.mu.Unlock()
	return nil
}

// startShipped starts a server with opts and waits until it accepts
// connections.
func startShipped(opts *server.Options) (*server.Server, error) {
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, err
	}
	go srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("not ready within 15s")
	}
	return srv, nil
}

// stop shuts the node down and waits until it has.
func (n *natsNode) stop() {
	n.mu.Lock()
	srv := n.srv
	n.srv = nil
	n.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

func (n *natsNode) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv != nil
}

// URL lists every node, as clients are configured in production.
func (c *natsCluster) URL() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = n.url
	}
	return strings.Join(urls, ",")
}

// clientTLS is the TLS of every client: the CA, and the client
// certificate the server requires.
func (c *natsCluster) clientTLS() *tls.Config { return tlstest.ClientTLS(c.ca, c.client) }

// args are the flags connecting a palisade process as role r, which
// leaves declaring the topology to the admin (the stack does, as
// `palisade declare` does in production).
func (c *natsCluster) args(r bus.Role) []string {
	return []string{"--nats-url", c.URL(), "--declare=false", "--nats-nkey", c.creds.SeedFile(r),
		"--nats-tls-ca", c.ca.File, "--nats-tls-cert", c.client.CertFile, "--nats-tls-key", c.client.KeyFile}
}

// connect opens a client connection as role r that reconnects for ever,
// as the palisade commands do.
func (c *natsCluster) connect(name string, r bus.Role) (*nats.Conn, jetstream.JetStream) {
	c.t.Helper()
	ro, err := c.creds.ClientOptions(r)
	if err != nil {
		c.t.Fatal(err)
	}
	opts := append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.Secure(c.clientTLS())}, ro...)
	nc, err := nats.Connect(c.URL(), opts...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatal(err)
	}
	return nc, js
}

// waitJetStream waits until the JetStream API answers (a fresh cluster
// first elects its meta leader).
func (c *natsCluster) waitJetStream() {
	c.t.Helper()
	nc, js := c.connect("chaos-probe", bus.RoleAdmin)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.AccountInfo(actx)
		acancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			c.t.Fatalf("JetStream not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
