// Package tlstest makes certificate authorities and certificates for
// tests with crypto/x509, in memory and as PEM files in the test's
// temporary directory: nothing is ever committed.
//
//	ca := tlstest.NewCA(t, "palisade test CA")
//	server := ca.Server(t)                                  // IP SAN 127.0.0.1 and ::1, DNS localhost
//	client := ca.Client(t, "spiffe://example.org/team-a/deployer")
//	files := tlsfiles.Files{Cert: server.CertFile, Key: server.KeyFile, CA: ca.File}
package tlstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CA is a certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// PEM is Cert in PEM; File holds it, in the test's temporary
	// directory.
	PEM  []byte
	File string
}

// Spec is what a certificate says.
type Spec struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	URIs       []string // e.g. "spiffe://example.org/team-a/deployer"
	// Server and Client set the extended key usages serverAuth and
	// clientAuth.
	Server, Client bool
	// NotBefore and NotAfter: the zero values are a minute ago and an
	// hour from now.
	NotBefore, NotAfter time.Time
}

// Cert is a certificate and its key.
type Cert struct {
	Leaf *x509.Certificate
	TLS  tls.Certificate
	// CertPEM and KeyPEM are the certificate (leaf first, then any
	// intermediate) and the key in PEM; CertFile and KeyFile hold them.
	CertPEM, KeyPEM   []byte
	CertFile, KeyFile string
}

// NewCA makes a self-signed CA named name, its PEM in a file of its own.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{Cert: cert, Key: key, PEM: pemOf("CERTIFICATE", der)}
	ca.File = writeFile(t, fileName(name)+"-ca.pem", ca.PEM)
	return ca
}

// Pool is a pool holding the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue signs a certificate as s says, with a new ECDSA P-256 key, and
// writes it and its key to files.
func (ca *CA) Issue(t testing.TB, s Spec) *Cert {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: s.CommonName},
		DNSNames:     s.DNSNames,
		IPAddresses:  s.IPs,
		NotBefore:    s.NotBefore,
		NotAfter:     s.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Minute)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(time.Hour)
	}
	for _, u := range s.URIs {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, parsed)
	}
	if s.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if s.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cert{
		Leaf:    leaf,
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		CertPEM: pemOf("CERTIFICATE", der),
		KeyPEM:  pemOf("PRIVATE KEY", keyDER),
	}
	name := fileName(firstNonEmpty(s.CommonName, strings.Join(s.URIs, ","), strings.Join(s.DNSNames, ","), "cert"))
	c.CertFile = writeFile(t, name+"-cert.pem", c.CertPEM)
	c.KeyFile = writeFile(t, name+"-key.pem", c.KeyPEM)
	return c
}

// Server issues a server certificate for 127.0.0.1, ::1 and localhost.
func (ca *CA) Server(t testing.TB) *Cert {
	t.Helper()
	return ca.Issue(t, Spec{
		CommonName: "palisade test server", DNSNames: []string{"localhost"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, Server: true,
	})
}

// Client issues a client certificate whose one URI SAN is id (a SPIFFE
// ID), as an X.509-SVID has it.
func (ca *CA) Client(t testing.TB, id string) *Cert {
	t.Helper()
	return ca.Issue(t, Spec{URIs: []string{id}, Client: true})
}

// ClientTLS is the configuration of a client presenting c (none when c
// is nil) and trusting roots' certificates.
func ClientTLS(roots *CA, c *Cert) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots.Pool()}
	if c != nil {
		cfg.Certificates = []tls.Certificate{c.TLS}
	}
	return cfg
}

// WriteFile replaces path's content with data the way rotation tools
// do: written to a new file beside it, then renamed over it.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// writeFile writes data to a new file in a directory of the test's.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileName turns s into a short, safe file name.
func fileName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, s)
	if len(s) > 60 {
		s = s[len(s)-60:]
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
