package chaos

import (
	"context"
	"crypto/tls"
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

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsauth"
	"github.com/palisadehq/palisade/internal/natsembed"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
)

// natsNode is one NATS server on loopback with file storage, which can be
// stopped and started again on the same port and store.
type natsNode struct {
	opts natsembed.Options
	url  string

	mu  sync.Mutex
	srv *server.Server
}

// natsCluster is one node, or a JetStream cluster of several, in the
// production shape: a user per role (bus.Roles, with the permissions of
// bus.Role.Permissions) authenticating by nkey, and TLS with client
// certificates on the client port and between nodes. The CA,
// certificates and seeds are made at run time in the test's directory.
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

// startNATS starts n nodes (a cluster named "chaos" when n > 1) and waits
// until JetStream answers.
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
	tlsFiles := &natsembed.TLSFiles{Cert: node.CertFile, Key: node.KeyFile, CA: c.ca.File}
	ports := freePorts(t, 2*n) // n client ports, then n cluster ports
	clientPorts, clusterPorts := ports[:n], ports[n:]
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", clusterPorts[i]))
	}
	for i := range n {
		port := clientPorts[i]
		o := natsembed.Options{
			StoreDir: filepath.Join(dir, fmt.Sprintf("n%d", i)),
			Listen:   fmt.Sprintf("127.0.0.1:%d", port),
			Name:     fmt.Sprintf("n%d", i),
			Users:    users,
			TLS:      tlsFiles,
		}
		if n > 1 {
			o.Cluster = &natsembed.ClusterOptions{Name: "chaos", Listen: fmt.Sprintf("127.0.0.1:%d", clusterPorts[i]), Routes: routes}
		}
		c.nodes = append(c.nodes, &natsNode{opts: o, url: fmt.Sprintf("nats://127.0.0.1:%d", port)})
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

func (n *natsNode) start() error {
	srv, err := natsembed.Start(n.opts)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.srv = srv
	n.mu.Unlock()
	return nil
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
