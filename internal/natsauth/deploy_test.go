package natsauth_test

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsauth"
	"github.com/palisadehq/palisade/internal/natsembed"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
)

var update = flag.Bool("update", false, "rewrite deploy/nats/nats-server.conf from the Go declaration")

const shipped = "../../deploy/nats/nats-server.conf"

// TestShippedClusterConfig: the shipped configuration is what the Go
// declaration of the roles renders, so the two cannot drift.
func TestShippedClusterConfig(t *testing.T) {
	want := natsauth.ClusterConfig()
	if *update {
		if err := os.WriteFile(shipped, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != want {
		t.Fatalf("%s differs from what internal/bus/permissions.go renders; run go test ./internal/natsauth -run TestShippedClusterConfig -update", shipped)
	}
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// TestShippedClusterConfigRuns starts three nodes in-process from the
// shipped file, with TLS on both ports and a key per role: a client
// without credentials is refused, and the subscriber may not publish a
// command. With the standalone nats-server at hand
// ($PALISADE_TOOLS_BIN, ./.bin or PATH) that binary must accept the file
// too.
func TestShippedClusterConfigRuns(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "nats-ca")
	cert := ca.Issue(t, tlstest.Spec{CommonName: "nats", DNSNames: []string{"localhost"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true, Client: true})
	client := ca.Issue(t, tlstest.Spec{CommonName: "palisade", Client: true})
	creds, err := natsauth.EnsureCredentials(filepath.Join(dir, "keys"), bus.Roles()...)
	if err != nil {
		t.Fatal(err)
	}
	users, err := creds.Users(bus.Roles()...)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range bus.Roles() {
		t.Setenv(natsauth.NKeyVariable(r), users[i].NKey)
	}
	sys, _ := nkeys.CreateUser()
	sysPub, _ := sys.PublicKey()
	t.Setenv("PALISADE_NKEY_SYS", sysPub)
	t.Setenv("NATS_TLS_CERT", cert.CertFile)
	t.Setenv("NATS_TLS_KEY", cert.KeyFile)
	t.Setenv("NATS_TLS_CA", ca.File)
	ports := freePorts(t, 6)
	for i := range 3 {
		t.Setenv(fmt.Sprintf("NATS_ROUTE_%d", i+1), fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3+i]))
	}

	if bin := natstest.StandaloneBinary("../.."); bin != "" {
		setNode(t, dir, 0, ports)
		out, err := exec.Command(bin, "-c", shipped, "-t").CombinedOutput()
		if err != nil {
			t.Fatalf("%s -t refuses %s: %v\n%s", bin, shipped, err, out)
		}
	} else {
		t.Log("no nats-server binary in $PALISADE_TOOLS_BIN, ./.bin or PATH (scripts/install-nats-server.sh installs it): the standalone check is skipped")
	}

	var urls []string
	for i := range 3 {
		setNode(t, dir, i, ports)
		opts, err := server.ProcessConfigFile(shipped)
		if err != nil {
			t.Fatal(err)
		}
		opts.NoSigs, opts.NoLog = true, true
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		if !s.ReadyForConnections(15 * time.Second) {
			t.Fatal("node not ready")
		}
		urls = append(urls, fmt.Sprintf("tls://127.0.0.1:%d", ports[i]))
	}

	connect := func(r bus.Role) (*nats.Conn, chan error) {
		ro, err := creds.ClientOptions(r)
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 4)
		ro = append(ro, nats.Secure(tlstest.ClientTLS(ca, client)), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			errs <- err
		}))
		nc, err := nats.Connect(urls[0]+","+urls[1]+","+urls[2], ro...)
		if err != nil {
			t.Fatalf("connect as %s: %v", r, err)
		}
		t.Cleanup(nc.Close)
		return nc, errs
	}
	if _, err := nats.Connect(urls[0], nats.Secure(tlstest.ClientTLS(ca, client))); err == nil {
		t.Fatal("connected without credentials")
	}
	snc, serrs := connect(bus.RoleSubscriber)
	if err := snc.Publish(bus.CommandSubject("111122223333", "us-east-1", "sg-1"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	_ = snc.Flush()
	select {
	case err := <-serrs:
		if err == nil {
			t.Fatal("no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber's command was not refused")
	}
}

func setNode(t *testing.T, dir string, i int, ports []int) {
	t.Setenv("NATS_SERVER_NAME", fmt.Sprintf("n%d", i))
	t.Setenv("NATS_LISTEN", fmt.Sprintf("127.0.0.1:%d", ports[i]))
	t.Setenv("NATS_CLUSTER_LISTEN", fmt.Sprintf("127.0.0.1:%d", ports[3+i]))
	t.Setenv("NATS_STORE_DIR", filepath.Join(dir, fmt.Sprintf("js%d", i)))
}

const shippedHelm = "../../deploy/nats/helm-values.yaml"

// TestShippedHelmValues: the Helm values give the chart's server the same
// accounts and permissions as the Go declaration of the roles.
func TestShippedHelmValues(t *testing.T) {
	want := natsauth.HelmValues()
	if *update {
		if err := os.WriteFile(shippedHelm, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(shippedHelm)
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != want {
		t.Fatalf("%s differs from what internal/bus/permissions.go renders; run go test ./internal/natsauth -run TestShippedHelmValues -update", shippedHelm)
	}
	for _, r := range bus.Roles() {
		if !strings.Contains(want, "nkey: << $"+natsauth.NKeyVariable(r)+" >>") || !strings.Contains(want, "key: "+string(r)+"}") {
			t.Errorf("role %s has no user or no key in the Secret", r)
		}
	}
}

// TestHelmStorageHoldsTheStreams: a node with the JetStream storage the
// Helm values give it takes every stream and bucket of the default
// topology, with room left for what reserves nothing.
func TestHelmStorageHoldsTheStreams(t *testing.T) {
	top := bus.DefaultTopology(1) // each node keeps one replica of every stream
	maxStore := int64(natsauth.HelmMaxStoreGiB) << 30
	if maxStore >= int64(natsauth.HelmVolumeGiB)<<30 {
		t.Fatalf("JetStream's bound (%d GiB) leaves nothing of the %d GiB volume for the store's own files", natsauth.HelmMaxStoreGiB, natsauth.HelmVolumeGiB)
	}
	if free := maxStore - top.Reserved(); free < maxStore/4 {
		t.Fatalf("the streams reserve %d of %d bytes, leaving %d for the records, the index and the audit trail", top.Reserved(), maxStore, free)
	}
	js := natstest.Connect(t, natstest.Server(t, natsembed.Options{MaxStore: maxStore}))
	if err := bus.Declare(context.Background(), js, top); err != nil {
		t.Fatalf("declare on a node of the Helm values' storage: %v", err)
	}
}
