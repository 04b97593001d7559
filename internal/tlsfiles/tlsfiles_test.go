package tlsfiles_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisadehq/palisade/internal/tlsfiles"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestLoadNamesTheFileAtFault(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	srv := ca.Server(t)
	other := ca.Server(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name  string
		files tlsfiles.Files
		part  tlsfiles.Part
		say   string
	}{
		{"cert without key", tlsfiles.Files{Cert: srv.CertFile, CA: ca.File}, tlsfiles.KeyFile, "none given"},
		{"key without cert", tlsfiles.Files{Key: srv.KeyFile}, tlsfiles.CertFile, "none given"},
		{"missing cert", tlsfiles.Files{Cert: missing, Key: srv.KeyFile, CA: ca.File}, tlsfiles.CertFile, "no such file"},
		{"missing key", tlsfiles.Files{Cert: srv.CertFile, Key: missing, CA: ca.File}, tlsfiles.KeyFile, "no such file"},
		{"missing CA", tlsfiles.Files{Cert: srv.CertFile, Key: srv.KeyFile, CA: missing}, tlsfiles.CAFile, "no such file"},
		{"garbage cert", tlsfiles.Files{Cert: garbage, Key: srv.KeyFile}, tlsfiles.CertFile, "no PEM certificate"},
		{"key as cert", tlsfiles.Files{Cert: srv.KeyFile, Key: srv.KeyFile}, tlsfiles.CertFile, `"PRIVATE KEY"`},
		{"cert as key", tlsfiles.Files{Cert: srv.CertFile, Key: srv.CertFile}, tlsfiles.KeyFile, "certificate rather than a key"},
		{"another key", tlsfiles.Files{Cert: srv.CertFile, Key: other.KeyFile}, tlsfiles.KeyFile, "does not match"},
		{"garbage CA", tlsfiles.Files{Cert: srv.CertFile, Key: srv.KeyFile, CA: garbage}, tlsfiles.CAFile, "no PEM certificate"},
		{"key as CA", tlsfiles.Files{Cert: srv.CertFile, Key: srv.KeyFile, CA: srv.KeyFile}, tlsfiles.CAFile, `"PRIVATE KEY"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tlsfiles.Load(tc.files, quiet())
			var fe *tlsfiles.FileError
			if !errors.As(err, &fe) || fe.Part != tc.part || !strings.Contains(err.Error(), tc.say) {
				t.Fatalf("error %v, want a %v FileError saying %q", err, tc.part, tc.say)
			}
		})
	}
}

// TestReloadOnChange: a replaced certificate is served from the next
// call on; a replacement that is not whole (new certificate, old key)
// keeps the previous pair, logged once, until the key follows.
func TestReloadOnChange(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	first, second := ca.Server(t), ca.Server(t)
	var logs bytes.Buffer
	src, err := tlsfiles.Load(tlsfiles.Files{Cert: first.CertFile, Key: first.KeyFile, CA: ca.File},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Certificate().Leaf.SerialNumber; got.Cmp(first.Leaf.SerialNumber) != 0 {
		t.Fatal("not the first certificate")
	}
	tlstest.WriteFile(t, first.CertFile, second.CertPEM)
	for range 3 {
		if got := src.Certificate().Leaf.SerialNumber; got.Cmp(first.Leaf.SerialNumber) != 0 {
			t.Fatal("a certificate without its key replaced the pair")
		}
	}
	if n := strings.Count(logs.String(), "cannot be used"); n != 1 {
		t.Fatalf("the half-done rotation was logged %d times, want once:\n%s", n, logs.String())
	}
	tlstest.WriteFile(t, first.KeyFile, second.KeyPEM)
	if got := src.Certificate().Leaf.SerialNumber; got.Cmp(second.Leaf.SerialNumber) != 0 {
		t.Fatal("the rotated pair is not served")
	}
	if !strings.Contains(logs.String(), "TLS files reloaded") {
		t.Errorf("the reload was not logged:\n%s", logs.String())
	}

	// A file gone for a moment keeps the pair too.
	if err := os.Remove(first.KeyFile); err != nil {
		t.Fatal(err)
	}
	if got := src.Certificate().Leaf.SerialNumber; got.Cmp(second.Leaf.SerialNumber) != 0 {
		t.Fatal("a missing key dropped the pair")
	}
}

// handshake runs a TLS handshake between server and client configs over
// a loopback TCP connection and returns each side's error.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		s := tls.Server(conn, server)
		err = s.HandshakeContext(ctx)
		if err == nil {
			// TLS 1.3 clients learn of a refused certificate on their
			// first read; give them one.
			_, err = s.Write([]byte("x"))
		}
		errc <- err
		_ = s.Close()
	}()
	var d tls.Dialer
	d.Config = client
	c, clientErr := d.DialContext(ctx, "tcp", ln.Addr().String())
	if clientErr == nil {
		_, clientErr = c.Read(make([]byte, 1))
		_ = c.Close()
	}
	return <-errc, clientErr
}

func TestServerConfigRequiresClientCertificate(t *testing.T) {
	ca, rogue := tlstest.NewCA(t, "ca"), tlstest.NewCA(t, "rogue")
	srv := ca.Server(t)
	src, err := tlsfiles.Load(tlsfiles.Files{Cert: srv.CertFile, Key: srv.KeyFile, CA: ca.File}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := src.ServerConfig("h2")
	if err != nil {
		t.Fatal(err)
	}
	withServerName := func(c *tls.Config) *tls.Config { c.ServerName = "127.0.0.1"; return c }

	if serr, cerr := handshake(t, cfg, withServerName(tlstest.ClientTLS(ca, ca.Client(t, "spiffe://example.org/a")))); serr != nil || cerr != nil {
		t.Fatalf("a good client was refused: server %v, client %v", serr, cerr)
	}
	if serr, _ := handshake(t, cfg, withServerName(tlstest.ClientTLS(ca, nil))); serr == nil {
		t.Fatal("a client without a certificate was let in")
	}
	if serr, _ := handshake(t, cfg, withServerName(tlstest.ClientTLS(ca, rogue.Client(t, "spiffe://example.org/a")))); serr == nil {
		t.Fatal("a client certificate from another CA was let in")
	}
	serverOnly := ca.Issue(t, tlstest.Spec{URIs: []string{"spiffe://example.org/a"}, Server: true})
	if serr, _ := handshake(t, cfg, withServerName(tlstest.ClientTLS(ca, serverOnly))); serr == nil {
		t.Fatal("a certificate only for servers was accepted from a client")
	}
	old := withServerName(tlstest.ClientTLS(ca, ca.Client(t, "spiffe://example.org/a")))
	old.MaxVersion = tls.VersionTLS12
	if serr, _ := handshake(t, cfg, old); serr == nil {
		t.Fatal("TLS 1.2 was accepted")
	}
}

// TestServerConfigFollowsRotation: a new handshake gets the rotated
// certificate, and the rotated CA file decides which clients get in.
func TestServerConfigFollowsRotation(t *testing.T) {
	ca1, ca2 := tlstest.NewCA(t, "ca1"), tlstest.NewCA(t, "ca2")
	srv := ca1.Server(t)
	src, err := tlsfiles.Load(tlsfiles.Files{Cert: srv.CertFile, Key: srv.KeyFile, CA: ca1.File}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := src.ServerConfig("h2")
	if err != nil {
		t.Fatal(err)
	}
	client1 := ca1.Client(t, "spiffe://example.org/a")
	client2 := ca2.Client(t, "spiffe://example.org/a")
	dial := func(roots *tlstest.CA, c *tlstest.Cert) (serr, cerr error) {
		cc := tlstest.ClientTLS(roots, c)
		cc.ServerName = "127.0.0.1"
		return handshake(t, cfg, cc)
	}
	if serr, cerr := dial(ca1, client1); serr != nil || cerr != nil {
		t.Fatalf("before rotation: %v / %v", serr, cerr)
	}

	// Everything moves to ca2: server certificate, key and client CAs.
	next := ca2.Server(t)
	tlstest.WriteFile(t, srv.KeyFile, next.KeyPEM)
	tlstest.WriteFile(t, srv.CertFile, next.CertPEM)
	tlstest.WriteFile(t, ca1.File, ca2.PEM)
	if _, cerr := dial(ca1, client1); cerr == nil {
		t.Fatal("the client still trusts the server: the old certificate is still served")
	}
	if serr, cerr := dial(ca2, client2); serr != nil || cerr != nil {
		t.Fatalf("after rotation: %v / %v", serr, cerr)
	}
	if serr, _ := dial(ca2, client1); serr == nil {
		t.Fatal("a client of the removed CA was let in")
	}
}

func TestClientConfig(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	srv := ca.Server(t)
	server, err := tlsfiles.Load(tlsfiles.Files{Cert: srv.CertFile, Key: srv.KeyFile, CA: ca.File}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	scfg, err := server.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	cl := ca.Client(t, "spiffe://example.org/a")
	client, err := tlsfiles.Load(tlsfiles.Files{Cert: cl.CertFile, Key: cl.KeyFile, CA: ca.File}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ccfg := client.ClientConfig()
	ccfg.ServerName = "127.0.0.1"
	if serr, cerr := handshake(t, scfg, ccfg); serr != nil || cerr != nil {
		t.Fatalf("server %v, client %v", serr, cerr)
	}
	if _, err := client.ServerConfig(); err != nil {
		t.Fatal("a source with all three files can serve too")
	}
	caOnly, err := tlsfiles.Load(tlsfiles.Files{CA: ca.File}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := caOnly.ServerConfig(); err == nil {
		t.Fatal("a server without a certificate was configured")
	}
	ccfg = caOnly.ClientConfig()
	ccfg.ServerName = "127.0.0.1"
	if serr, _ := handshake(t, scfg, ccfg); serr == nil {
		t.Fatal("a client with no certificate was let in")
	}
}
