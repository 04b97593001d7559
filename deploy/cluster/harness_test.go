package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsauth"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
)

// shippedNATSConfig is the file every node starts from, as a pod of the
// NATS StatefulSet would.
const shippedNATSConfig = "../nats/nats-server.conf"

// launchFile is what the kustomize base configures for each part
// (arguments, ConfigMap variables); deploy/validate keeps it current.
const launchFile = "testdata/launch.json"

// part is one container of the manifests: its arguments and variables.
type part struct {
	Args []string          `json:"args"`
	Env  map[string]string `json:"env"`
}

// stack is everything the cluster run started; stop ends it all.
type stack struct {
	t        *testing.T
	dir      string
	bin      string // palisade and palisadectl
	natsBin  string
	ca       *tlstest.CA
	natsCert *tlstest.Cert // the nodes' certificate (server and client: routes are mutual TLS)
	partCert *tlstest.Cert // the parts' client certificate to NATS
	apiCert  *tlstest.Cert // the API's server certificate
	ctlCert  *tlstest.Cert // palisadectl's client certificate (a SPIFFE ID)
	creds    natsauth.Credentials
	natsEnv  []string // what every node's environment shares
	client   []int    // the nodes' client ports
	route    []int    // the nodes' route ports
	nodes    []*proc
	launch   map[string]part
	mu       sync.Mutex
	procs    []*proc
}

// proc is a process the stack started, its output in a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
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

// newStack builds the binaries, makes the certificates and keys, and
// reads the manifests' launch configuration; it starts nothing.
func newStack(t *testing.T) *stack {
	t.Helper()
	natsBin := natstest.StandaloneBinary("../..")
	if natsBin == "" {
		t.Skip("no nats-server binary ($PALISADE_TOOLS_BIN, ./.bin or PATH; scripts/install-nats-server.sh installs it): the cluster run is skipped")
	}
	s := &stack{t: t, dir: t.TempDir(), natsBin: natsBin}
	s.bin = filepath.Join(s.dir, "bin")
	build := exec.Command("go", "build", "-o", s.bin+"/", "../../cmd/palisade", "../../cmd/palisadectl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(launchFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s.launch); err != nil {
		t.Fatalf("%s: %v", launchFile, err)
	}
	for _, p := range []string{"api", "worker", "declare"} {
		if len(s.launch[p].Args) == 0 {
			t.Fatalf("%s has no part %q", launchFile, p)
		}
	}

	// Certificates are made here, at run time, and live in the test's
	// temporary directory only.
	s.ca = tlstest.NewCA(t, "palisade-cluster-ca")
	local := tlstest.Spec{DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}
	nats := local
	nats.CommonName, nats.Server, nats.Client = "nats", true, true
	s.natsCert = s.ca.Issue(t, nats)
	s.partCert = s.ca.Issue(t, tlstest.Spec{CommonName: "palisade", Client: true})
	api := local
	api.CommonName, api.Server = "palisade-api", true
	s.apiCert = s.ca.Issue(t, api)
	s.ctlCert = s.ca.Client(t, "spiffe://example.org/team/platform")

	s.creds, err = natsauth.EnsureCredentials(filepath.Join(s.dir, "nkeys"), bus.Roles()...)
	if err != nil {
		t.Fatal(err)
	}
	users, err := s.creds.Users(bus.Roles()...)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range bus.Roles() {
		s.natsEnv = append(s.natsEnv, natsauth.NKeyVariable(r)+"="+users[i].NKey)
	}
	sys, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	sysPub, err := sys.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 6)
	s.client, s.route = ports[:3], ports[3:]
	s.natsEnv = append(s.natsEnv, "PALISADE_NKEY_SYS="+sysPub,
		"NATS_TLS_CERT="+s.natsCert.CertFile, "NATS_TLS_KEY="+s.natsCert.KeyFile, "NATS_TLS_CA="+s.ca.File)
	for i, p := range s.route {
		s.natsEnv = append(s.natsEnv, fmt.Sprintf("NATS_ROUTE_%d=nats-route://127.0.0.1:%d", i+1, p))
	}
	s.nodes = make([]*proc, 3)
	t.Cleanup(s.stop)
	return s
}

// natsURL is the URL list of the three nodes, as PALISADE_NATS_URL.
func (s *stack) natsURL() string {
	var urls []string
	for _, p := range s.client {
		urls = append(urls, fmt.Sprintf("tls://127.0.0.1:%d", p))
	}
	return strings.Join(urls, ",")
}

// startNode starts node i from the shipped configuration, on its own
// store directory (kept across restarts).
func (s *stack) startNode(i int) {
	s.t.Helper()
	env := append(append(os.Environ(), s.natsEnv...),
		fmt.Sprintf("NATS_SERVER_NAME=nats-%d", i),
		fmt.Sprintf("NATS_LISTEN=127.0.0.1:%d", s.client[i]),
		fmt.Sprintf("NATS_CLUSTER_LISTEN=127.0.0.1:%d", s.route[i]),
		"NATS_STORE_DIR="+filepath.Join(s.dir, fmt.Sprintf("nats-%d", i)))
	s.nodes[i] = s.start(fmt.Sprintf("nats-%d", i), env, s.natsBin, "-c", shippedNATSConfig)
}

// killNode kills node i at once (SIGKILL), as a crashed pod.
func (s *stack) killNode(i int) {
	s.t.Helper()
	p := s.nodes[i]
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// start runs name's command with env, its output in a log file.
func (s *stack) start(name string, env []string, bin string, args ...string) *proc {
	s.t.Helper()
	p := &proc{name: name, log: filepath.Join(s.dir, "logs", name+".log"), done: make(chan struct{})}
	if err := os.MkdirAll(filepath.Dir(p.log), 0o755); err != nil {
		s.t.Fatal(err)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, f, f
	if err := p.cmd.Start(); err != nil {
		_ = f.Close()
		s.t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); _ = f.Close(); close(p.done) }()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p
}

// stop ends every process still running: SIGTERM, then SIGKILL after
// ten seconds.
func (s *stack) stop() {
	s.mu.Lock()
	procs := s.procs
	s.mu.Unlock()
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	if keep := os.Getenv("PALISADE_CLUSTER_LOGS"); keep != "" {
		_ = os.MkdirAll(keep, 0o755)
		for _, p := range procs {
			if b, err := os.ReadFile(p.log); err == nil {
				_ = os.WriteFile(filepath.Join(keep, p.name+".log"), b, 0o644)
			}
		}
	}
	if s.t.Failed() {
		for _, p := range procs {
			b, _ := os.ReadFile(p.log)
			n := 40
			if strings.HasPrefix(p.name, "nats-") {
				n = 10
			}
			s.t.Logf("---- %s (%v)\n%s", p.name, p.err, tail(b, n))
		}
	}
}

func tail(b []byte, n int) []byte {
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, []byte("\n"))
}

// partEnv is the environment and the arguments of a part as the
// manifests configure it, with the files mounted from Secrets under
// /etc/palisade/ moved to a directory of the instance's own, and the NATS
// URLs made local.
func (s *stack) partEnv(name, instance string, role bus.Role, extra map[string]string) (env []string, args []string) {
	s.t.Helper()
	p := s.launch[name]
	root := filepath.Join(s.dir, "parts", instance)
	s.mount(root, role)
	rewrite := func(v string) string { return strings.ReplaceAll(v, "/etc/palisade/", root+"/etc/palisade/") }
	vars := map[string]string{}
	for k, v := range p.Env {
		vars[k] = rewrite(v)
	}
	vars["PALISADE_NATS_URL"] = s.natsURL()
	for k, v := range extra {
		vars[k] = v
	}
	env = os.Environ()
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	for _, a := range p.Args {
		args = append(args, rewrite(a))
	}
	return env, args
}

// mount lays out the files the Secrets hold, as the pods mount them.
func (s *stack) mount(root string, role bus.Role) {
	s.t.Helper()
	seed, err := os.ReadFile(s.creds.SeedFile(role))
	if err != nil {
		s.t.Fatal(err)
	}
	caPEM, err := os.ReadFile(s.ca.File)
	if err != nil {
		s.t.Fatal(err)
	}
	policy, err := os.ReadFile("../policy/default.cedar")
	if err != nil {
		s.t.Fatal(err)
	}
	files := map[string][]byte{
		"nats-tls/ca.crt": caPEM, "nats-tls/tls.crt": s.partCert.CertPEM, "nats-tls/tls.key": s.partCert.KeyPEM,
		"nats-user/nkey": seed,
		"tls/ca.crt":     caPEM, "tls/tls.crt": s.apiCert.CertPEM, "tls/tls.key": s.apiCert.KeyPEM,
		"policy/policy.cedar": policy,
	}
	for name, b := range files {
		p := filepath.Join(root, "etc/palisade", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			s.t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			s.t.Fatal(err)
		}
	}
}

// run runs a command to its end within timeout and returns its output.
func (s *stack) run(ctx context.Context, timeout time.Duration, env []string, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// awaitNATS waits until a node takes the admin role's connection, and
// with withJetStream until JetStream answers it too (a meta leader is
// elected).
func (s *stack) awaitNATS(ctx context.Context, timeout time.Duration, withJetStream bool) {
	s.t.Helper()
	opts, err := s.creds.ClientOptions(bus.RoleAdmin)
	if err != nil {
		s.t.Fatal(err)
	}
	opts = append(opts, nats.Secure(tlstest.ClientTLS(s.ca, s.partCert)), nats.Timeout(2*time.Second))
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		nc, err := nats.Connect(s.natsURL(), opts...)
		if err == nil && !withJetStream {
			nc.Close()
			return
		}
		if err == nil {
			js, _ := jetstream.New(nc)
			actx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = js.AccountInfo(actx)
			cancel()
			nc.Close()
			if err == nil {
				return
			}
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("JetStream not ready after %v: %v", timeout, last)
}

// terminate is what the kubelet sends a pod's containers first.
var terminate = syscall.SIGTERM

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// parts are the palisade api and worker processes.
func (s *stack) parts() []*proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ps []*proc
	for _, p := range s.procs {
		if strings.HasPrefix(p.name, "api-") || strings.HasPrefix(p.name, "worker-") {
			ps = append(ps, p)
		}
	}
	return ps
}

// awaitHealth waits until the plaintext health service at addr, the one
// the kubelet's probes call, reports SERVING.
func (s *stack) awaitHealth(ctx context.Context, addr string, timeout time.Duration) {
	s.t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := client.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("health at %s not SERVING after %v: %v", addr, timeout, last)
}

// streamLeader is the index of the node leading stream, asked as the
// admin role.
func (s *stack) streamLeader(ctx context.Context, stream string) int {
	s.t.Helper()
	opts, err := s.creds.ClientOptions(bus.RoleAdmin)
	if err != nil {
		s.t.Fatal(err)
	}
	nc, err := nats.Connect(s.natsURL(), append(opts, nats.Secure(tlstest.ClientTLS(s.ca, s.partCert)))...)
	if err != nil {
		s.t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		s.t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := js.Stream(cctx, stream)
	if err != nil {
		s.t.Fatalf("stream %s: %v", stream, err)
	}
	info := st.CachedInfo()
	if info.Cluster == nil {
		s.t.Fatalf("stream %s has no cluster information", stream)
	}
	var i int
	if _, err := fmt.Sscanf(info.Cluster.Leader, "nats-%d", &i); err != nil {
		s.t.Fatalf("stream %s: leader %q is none of the nodes", stream, info.Cluster.Leader)
	}
	return i
}

// nodeLogsSay reports whether a NATS node's log holds text within five
// seconds (a node logs after it has answered).
func (s *stack) nodeLogsSay(text string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, n := range s.nodes {
			if b, err := os.ReadFile(n.log); err == nil && bytes.Contains(b, []byte(text)) {
				return true
			}
		}
	}
	return false
}
