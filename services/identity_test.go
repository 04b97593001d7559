package services

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
)

// TestPeerIdentity: who a verified client certificate names, and which
// certificates name no one. The handshake itself is tested through the
// real port (e2e); here the peer is put in the context as gRPC does.
func TestPeerIdentity(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	verified := func(c *x509.Certificate) context.Context {
		return peer.NewContext(context.Background(), &peer.Peer{AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{
			PeerCertificates: []*x509.Certificate{c}, VerifiedChains: [][]*x509.Certificate{{c, ca.Cert}},
		}}})
	}
	issue := func(s tlstest.Spec) *x509.Certificate { s.Client = true; return ca.Issue(t, s).Leaf }
	spiffe := "spiffe://example.org/team-a/deployer"
	tests := []struct {
		name string
		spec tlstest.Spec
		want string // "" for refused
		say  string
	}{
		{"SPIFFE ID", tlstest.Spec{URIs: []string{spiffe}, DNSNames: []string{"a.example.org"}, CommonName: "a"}, spiffe, ""},
		{"DNS SAN before CN", tlstest.Spec{DNSNames: []string{"ci.example.org", "other.example.org"}, CommonName: "ci"}, "ci.example.org", ""},
		{"CN alone", tlstest.Spec{CommonName: "deploy-bot"}, "deploy-bot", ""},
		{"no name", tlstest.Spec{}, "", "names no one"},
		{"two URI SANs", tlstest.Spec{URIs: []string{spiffe, "spiffe://example.org/team-b/deployer"}}, "", "URI SAN"},
		{"URI not SPIFFE", tlstest.Spec{URIs: []string{"https://example.org/team-a"}, DNSNames: []string{"a.example.org"}}, "", "URI SAN"},
		{"SPIFFE ID with a query", tlstest.Spec{URIs: []string{spiffe + "?admin=1"}}, "", "URI SAN"},
		{"CN posing as a SPIFFE ID", tlstest.Spec{CommonName: spiffe}, "", "cannot name a caller"},
		{"DNS SAN posing as a SPIFFE ID", tlstest.Spec{DNSNames: []string{spiffe}}, "", "cannot name a caller"},
		{"CN posing as the local caller", tlstest.Spec{CommonName: "local"}, "", "cannot name a caller"},
		{"DNS SAN posing as the local caller", tlstest.Spec{DNSNames: []string{"LOCAL"}}, "", "cannot name a caller"},
		{"CN with a newline", tlstest.Spec{CommonName: "ci\ncaller=admin"}, "", "cannot name a caller"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PeerIdentity(verified(issue(tc.spec)))
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), tc.say) {
				t.Fatalf("got %q, %v; want UNAUTHENTICATED saying %q", got, err, tc.say)
			}
		})
	}

	good := issue(tlstest.Spec{URIs: []string{spiffe}})
	expired := issue(tlstest.Spec{URIs: []string{spiffe}, NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	refused := map[string]context.Context{
		"no peer":               context.Background(),
		"no TLS":                peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}}),
		"no client certificate": peer.NewContext(context.Background(), &peer.Peer{AuthInfo: credentials.TLSInfo{}}),
		"unverified": peer.NewContext(context.Background(), &peer.Peer{AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{
			PeerCertificates: []*x509.Certificate{good},
		}}}),
		"expired since the handshake": verified(expired),
		"a CA certificate":            verified(ca.Cert),
	}
	for name, ctx := range refused {
		if got, err := PeerIdentity(ctx); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: got %q, %v; want UNAUTHENTICATED", name, got, err)
		}
	}
}
