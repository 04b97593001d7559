package palisadetest_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/internal/tlsfiles"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/services"
)

// TestStackOverMutualTLS: with Options.TLS the API takes only clients
// with a certificate of its client CA; Conn dials with ClientTLS, Dial
// with any other credentials, and a custom Identify names the callers.
func TestStackOverMutualTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	srv := ca.Server(t)
	src, err := tlsfiles.Load(tlsfiles.Files{Cert: srv.CertFile, Key: srv.KeyFile, CA: ca.File}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := src.ServerConfig("h2")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen []string
	)
	identify := func(ctx context.Context) (string, error) {
		id, err := services.PeerIdentity(ctx)
		mu.Lock()
		seen = append(seen, id)
		mu.Unlock()
		return id, err
	}
	s := palisadetest.Start(t, palisadetest.Options{
		TLS: cfg, ClientTLS: tlstest.ClientTLS(ca, ca.Client(t, "spiffe://example.org/stack")),
		Identify: identify, ServerOptions: services.Hardening(),
	})
	ctx := s.Context()
	if _, err := s.Operations.ListOperations(ctx, &longrunningpb.ListOperationsRequest{}); err != nil {
		t.Fatalf("Conn: %v", err)
	}
	other := s.Dial(credentials.NewTLS(tlstest.ClientTLS(ca, ca.Client(t, "spiffe://example.org/other"))))
	if _, err := other.Operations.ListOperations(ctx, &longrunningpb.ListOperationsRequest{}); err != nil {
		t.Fatalf("Dial: %v", err)
	}
	mu.Lock()
	callers := seen
	mu.Unlock()
	if len(callers) != 2 || callers[0] != "spiffe://example.org/stack" || callers[1] != "spiffe://example.org/other" {
		t.Fatalf("callers %q", callers)
	}
	anon := s.Dial(credentials.NewTLS(tlstest.ClientTLS(ca, nil)))
	if _, err := anon.Operations.ListOperations(ctx, &longrunningpb.ListOperationsRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("a client without a certificate: %v, want UNAVAILABLE", err)
	}

	bare := palisadetest.Start(t, palisadetest.Options{TLS: cfg})
	if bare.Conn != nil {
		t.Fatal("a TLS stack without ClientTLS dialled anyway")
	}
}
