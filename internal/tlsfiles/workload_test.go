package tlsfiles_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/palisadehq/palisade/internal/tlsfiles"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
)

// svid issues an X.509-SVID for the API: its SPIFFE ID, and the loopback
// addresses clients dial.
func svid(t *testing.T, ca *tlstest.CA) *tlstest.Cert {
	t.Helper()
	return ca.Issue(t, tlstest.Spec{URIs: []string{"spiffe://example.org/palisade/api"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		Server: true, Client: true})
}

// TestWorkloadServerConfig: the SVID and bundle come from the Workload
// API; clients of the bundle get in, others do not; a rotated SVID and
// bundle reach the next handshake.
func TestWorkloadServerConfig(t *testing.T) {
	ca1, ca2 := tlstest.NewCA(t, "example.org 1"), tlstest.NewCA(t, "example.org 2")
	first := svid(t, ca1)
	api := tlstest.StartWorkloadAPI(t, first, ca1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := tlsfiles.OpenWorkload(ctx, api.Addr, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cfg, err := w.ServerConfig("h2")
	if err != nil {
		t.Fatal(err)
	}
	client := func(roots *tlstest.CA, c *tlstest.Cert) *tls.Config {
		cc := tlstest.ClientTLS(roots, c)
		cc.ServerName = "127.0.0.1"
		return cc
	}
	if serr, cerr := handshake(t, cfg, client(ca1, ca1.Client(t, "spiffe://example.org/ci"))); serr != nil || cerr != nil {
		t.Fatalf("a client of the bundle: server %v, client %v", serr, cerr)
	}
	if serr, _ := handshake(t, cfg, client(ca1, nil)); serr == nil {
		t.Fatal("a client without a certificate was let in")
	}
	if serr, _ := handshake(t, cfg, client(ca1, ca2.Client(t, "spiffe://example.org/ci"))); serr == nil {
		t.Fatal("a client of another CA was let in")
	}
	if serr, _ := handshake(t, cfg, client(ca1, ca1.Client(t, "spiffe://other.org/ci"))); serr == nil {
		t.Fatal("a client of another trust domain was let in")
	}
	if serr, _ := handshake(t, cfg, client(ca1, ca1.Issue(t, tlstest.Spec{DNSNames: []string{"ci.example.org"}, Client: true}))); serr == nil {
		t.Fatal("a client certificate without a SPIFFE ID was let in")
	}

	next := svid(t, ca2)
	api.Set(t, next, ca2)
	for deadline := time.Now().Add(10 * time.Second); ; {
		serr, cerr := handshake(t, cfg, client(ca2, ca2.Client(t, "spiffe://example.org/ci")))
		if serr == nil && cerr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rotated SVID never reached a handshake: server %v, client %v", serr, cerr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if serr, _ := handshake(t, cfg, client(ca2, ca1.Client(t, "spiffe://example.org/ci"))); serr == nil {
		t.Fatal("a client of the replaced bundle was let in")
	}
}

func TestOpenWorkloadWithoutAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := tlsfiles.OpenWorkload(ctx, "unix://"+t.TempDir()+"/none.sock", quiet()); err == nil {
		t.Fatal("opened a Workload API that is not there")
	}
}
