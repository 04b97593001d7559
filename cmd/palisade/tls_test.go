package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
)

// TestTLSFileErrors: TLS files that cannot be used stop api and serve
// before anything starts, with the flag of the file at fault.
func TestTLSFileErrors(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	srv, other := ca.Server(t), ca.Server(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		cmd            string
		cert, key, cas string
		say            string
	}{
		{"missing certificate", "api", missing, srv.KeyFile, ca.File, "--tls-cert: certificate " + missing + ": stat " + missing + ": no such file or directory"},
		{"missing key", "serve", srv.CertFile, missing, ca.File, "--tls-key: key " + missing + ": stat " + missing + ": no such file or directory"},
		{"missing client CA", "api", srv.CertFile, srv.KeyFile, missing, "--tls-client-ca: CA certificates " + missing + ": stat " + missing + ": no such file or directory"},
		{"empty certificate", "serve", empty, srv.KeyFile, ca.File, "--tls-cert: certificate " + empty + ": no PEM certificate"},
		{"another certificate's key", "api", srv.CertFile, other.KeyFile, ca.File, "--tls-key: key " + other.KeyFile + ": tls: private key does not match public key"},
		{"a key for client CA", "api", srv.CertFile, srv.KeyFile, srv.KeyFile, "--tls-client-ca: CA certificates"},
		{"a directory", "serve", filepath.Dir(srv.CertFile), srv.KeyFile, ca.File, "--tls-cert: certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// serve would create its data directory first: keep it in
			// the test's.
			args := []string{tc.cmd, "--tls-cert", tc.cert, "--tls-key", tc.key, "--tls-client-ca", tc.cas, "--nats-url", "nats://127.0.0.1:1"}
			if tc.cmd == "serve" {
				args = []string{tc.cmd, "--tls-cert", tc.cert, "--tls-key", tc.key, "--tls-client-ca", tc.cas, "--data-dir", filepath.Join(t.TempDir(), "data")}
			}
			var out bytes.Buffer
			if code := run(context.Background(), args, noEnv, &out); code != 1 {
				t.Fatalf("exit %d, want 1; output:\n%s", code, out.String())
			}
			if !strings.Contains(out.String(), tc.say) {
				t.Fatalf("output lacks %q:\n%s", tc.say, out.String())
			}
		})
	}
}

// TestServeWithMutualTLS runs `palisade serve` with mutual TLS, its
// certificate and client CAs from files named in the environment (as a
// container would) or from a SPIFFE Workload API: a client with a
// certificate of the client CA is served as its SPIFFE ID, under the
// shipped guardrails (no --policy); a client without one, or a plaintext
// one, is refused at the handshake.
func TestServeWithMutualTLS(t *testing.T) {
	t.Run("files", func(t *testing.T) {
		ca := tlstest.NewCA(t, "ca")
		srv := ca.Server(t)
		serveTLS(t, ca, map[string]string{
			"PALISADE_TLS_CERT": srv.CertFile, "PALISADE_TLS_KEY": srv.KeyFile, "PALISADE_TLS_CLIENT_CA": ca.File,
		})
	})
	t.Run("SPIFFE Workload API", func(t *testing.T) {
		ca := tlstest.NewCA(t, "example.org")
		api := tlstest.StartWorkloadAPI(t, ca.Issue(t, tlstest.Spec{
			URIs: []string{"spiffe://example.org/palisade/api"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true, Client: true,
		}), ca)
		serveTLS(t, ca, map[string]string{"PALISADE_SPIFFE_ENDPOINT_SOCKET": api.Addr})
	})
}

// serveTLS runs serve with env until its API answers a client of ca, and
// tries it as TestServeWithMutualTLS says.
func serveTLS(t *testing.T, ca *tlstest.CA, env map[string]string) {
	addrs := freeAddrs(t, 3)
	args := []string{"serve", "--data-dir", filepath.Join(t.TempDir(), "data"), "--grpc-listen", addrs[0],
		"--nats-listen", addrs[1], "--ec2-listen", addrs[2], "--nats-sync-always=false", "--log-level", "warn"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &out) }()

	dial := func(creds credentials.TransportCredentials) *grpc.ClientConn {
		conn, err := grpc.NewClient(addrs[0], grpc.WithTransportCredentials(creds))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	const caller = "spiffe://example.org/ci"
	good := dial(credentials.NewTLS(tlstest.ClientTLS(ca, ca.Client(t, caller))))
	awaitServing(ctx, t, good, done, &out)

	groups := palisadev1.NewSecurityGroupServiceClient(good)
	loc := &palisadev1.Location{AccountId: "123456789012", Region: "us-east-1"}
	op, err := groups.CreateSecurityGroup(ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "web", Description: "over mTLS"})
	if err != nil {
		t.Fatal(err)
	}
	md := &palisadev1.OperationMetadata{}
	if err := op.GetMetadata().UnmarshalTo(md); err != nil || md.GetCaller() != caller {
		t.Fatalf("operation caller %q (%v), want %q", md.GetCaller(), err, caller)
	}
	// The shipped guardrails decide: SSH from anywhere is denied.
	port := int32(22)
	_, err = groups.AuthorizeSecurityGroupIngress(ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: loc, GroupId: "sg-0123456789abcdef0", ValidateOnly: true,
		IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: &port, ToPort: &port, IpRanges: []*palisadev1.IpRange{{CidrIp: "0.0.0.0/0"}}}},
	})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "no-admin-ports-from-outside-10-8") {
		t.Fatalf("SSH from anywhere over mTLS without --policy: %v; want the shipped guardrails to deny it", err)
	}

	for name, creds := range map[string]credentials.TransportCredentials{
		"no client certificate": credentials.NewTLS(tlstest.ClientTLS(ca, nil)),
		"plaintext":             insecure.NewCredentials(),
	} {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := healthpb.NewHealthClient(dial(creds)).Check(cctx, &healthpb.HealthCheckRequest{})
		ccancel()
		if status.Code(err) != codes.Unavailable {
			t.Errorf("%s: %v, want UNAVAILABLE", name, err)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited with %d after being stopped:\n%s", code, out.String())
	}
}

// TestSPIFFEWorkloadAPIAbsent: with no Workload API at the socket, api
// gives up when its start is cut short, naming the flag.
func TestSPIFFEWorkloadAPIAbsent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var out bytes.Buffer
	args := []string{"api", "--spiffe-endpoint-socket", "unix://" + filepath.Join(t.TempDir(), "agent.sock"), "--nats-url", "nats://127.0.0.1:1"}
	if code := run(ctx, args, noEnv, &out); code != 1 || !strings.Contains(out.String(), "--spiffe-endpoint-socket: no X.509-SVID from the SPIFFE Workload API") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}
