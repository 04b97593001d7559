package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/internal/tlsfiles"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/services"
)

// newTLSStack starts a stack whose API takes only clients with a
// certificate of ca, with a worker, under the shipped default policy,
// as `palisade serve` with TLS and no --policy runs.
func newTLSStack(t *testing.T, ca *tlstest.CA) *stack {
	t.Helper()
	server := ca.Server(t)
	src, err := tlsfiles.Load(tlsfiles.Files{Cert: server.CertFile, Key: server.KeyFile, CA: ca.File}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := src.ServerConfig("h2")
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.NewEngine("")
	if err != nil {
		t.Fatal(err)
	}
	s := palisadetest.Start(t, palisadetest.Options{TLS: cfg, ServerOptions: services.Hardening(), Policy: engine, Workers: 1})
	return &stack{t: t, addr: s.Addr}
}

// TestTLSFlags: with --tls-cert, --tls-key and --tls-ca (or their
// PALISADE_TLS_* variables) palisadectl calls a mutual-TLS API as the
// certificate's SPIFFE ID; without a certificate the API trusts, it is
// refused (exit 4); flags that cannot work are usage errors (exit 2)
// naming the flag.
func TestTLSFlags(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	s := newTLSStack(t, ca)
	ci := ca.Client(t, "spiffe://example.org/ci/deployer")
	tlsEnv := map[string]string{"PALISADE_TLS_CERT": ci.CertFile, "PALISADE_TLS_KEY": ci.KeyFile, "PALISADE_TLS_CA": ca.File}

	out := s.ctl(tlsEnv, "create-security-group", "--group-name", "over-tls", "--description", "made over mutual TLS", "--wait").must(t, exitOK)
	if !strings.Contains(out.stdout, "sg-") {
		t.Fatalf("no group id in %q", out.stdout)
	}
	list := s.ctl(nil, "list-operations", "--output", "json",
		"--tls-cert", ci.CertFile, "--tls-key", ci.KeyFile, "--tls-ca", ca.File).must(t, exitOK)
	if !strings.Contains(list.stdout, `"spiffe://example.org/ci/deployer"`) {
		t.Fatalf("the operation does not name the certificate's SPIFFE ID as caller:\n%s", list.stdout)
	}
	other := ca.Client(t, "spiffe://example.org/someone/else")
	list = s.ctl(map[string]string{"PALISADE_TLS_CERT": other.CertFile, "PALISADE_TLS_KEY": other.KeyFile, "PALISADE_TLS_CA": ca.File},
		"list-operations", "--output", "json").must(t, exitOK)
	if strings.Contains(list.stdout, "over-tls") || strings.Contains(list.stdout, "ci/deployer") {
		t.Fatalf("another caller sees the operation:\n%s", list.stdout)
	}

	rogue := tlstest.NewCA(t, "rogue")
	intruder := rogue.Client(t, "spiffe://example.org/ci/deployer")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	refused := []struct {
		name string
		env  map[string]string
		args []string
		code int
		say  string
	}{
		// How a refused handshake reads on the client depends on timing
		// (the server's alert, or a broken pipe): the exit code does not.
		{"plaintext", nil, nil, exitUnavailable, ""},
		{"no client certificate", map[string]string{"PALISADE_TLS_CA": ca.File}, nil, exitUnavailable, ""},
		{"another CA's certificate", map[string]string{"PALISADE_TLS_CERT": intruder.CertFile, "PALISADE_TLS_KEY": intruder.KeyFile, "PALISADE_TLS_CA": ca.File},
			nil, exitUnavailable, ""},
		{"server not trusted", map[string]string{"PALISADE_TLS_CERT": ci.CertFile, "PALISADE_TLS_KEY": ci.KeyFile, "PALISADE_TLS_CA": rogue.File},
			nil, exitUnavailable, `certificate signed by unknown authority" (check --tls-cert, --tls-key and --tls-ca)`},
		{"cert without key", nil, []string{"--tls-cert", ci.CertFile}, exitUsage, "--tls-cert and --tls-key go together"},
		{"key without cert", map[string]string{"PALISADE_TLS_KEY": ci.KeyFile}, nil, exitUsage, "--tls-cert and --tls-key go together"},
		{"missing cert", nil, []string{"--tls-cert", missing, "--tls-key", ci.KeyFile}, exitUsage, "--tls-cert: certificate " + missing},
		{"key of another cert", nil, []string{"--tls-cert", ci.CertFile, "--tls-key", other.KeyFile}, exitUsage, "--tls-key: key " + other.KeyFile},
		{"missing CA", map[string]string{"PALISADE_TLS_CA": missing}, nil, exitUsage, "--tls-ca: CA certificates " + missing},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			r := s.ctl(tc.env, append([]string{"list-operations"}, tc.args...)...).must(t, tc.code)
			if !strings.Contains(r.stderr, tc.say) {
				t.Fatalf("stderr lacks %q:\n%s", tc.say, r.stderr)
			}
		})
	}
}

func TestTLSHint(t *testing.T) {
	plain, withTLS := &globalFlags{}, &globalFlags{tlsCA: "ca.pem"}
	tests := []struct {
		g    *globalFlags
		err  error
		hint string
	}{
		{plain, status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: EOF"`), "give --tls-cert, --tls-key and --tls-ca"},
		{withTLS, status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: remote error: tls: certificate required"`), "check --tls-cert"},
		{withTLS, status.Error(codes.Unavailable, `connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate is valid for localhost, not palisade"`), "check --tls-cert"},
		{withTLS, status.Error(codes.Unavailable, "write tcp 127.0.0.1:36022->127.0.0.1:34923: write: broken pipe"), "may have refused the client certificate"},
		{plain, status.Error(codes.Unavailable, "write tcp 127.0.0.1:36022->127.0.0.1:34923: write: broken pipe"), ""},
		{plain, status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`), ""},
		{withTLS, status.Error(codes.Unavailable, "the audit trail is unavailable"), ""},
		{withTLS, status.Error(codes.PermissionDenied, "tls: denied"), ""},
		{withTLS, nil, ""},
	}
	for _, tc := range tests {
		got := tlsHint(tc.g, tc.err)
		if tc.hint == "" {
			if got != tc.err { //nolint:errorlint // the very error, untouched
				t.Errorf("%v became %v", tc.err, got)
			}
			continue
		}
		if status.Code(got) != codes.Unavailable || !strings.Contains(got.Error(), tc.hint) || unreachable(got) != unreachable(tc.err) {
			t.Errorf("%v became %v; want UNAVAILABLE, as (un)reachable as before, with %q", tc.err, got, tc.hint)
		}
	}
}
