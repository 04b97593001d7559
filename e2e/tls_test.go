package e2e

import (
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/internal/tlsfiles"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/services"
)

const (
	callerA  = "spiffe://example.org/team-a/deployer"
	callerB  = "spiffe://example.org/team-b/deployer"
	accountA = "111122223333"
	accountB = "444455556666"
)

// tlsEnv is a Palisade whose API is served over mutual TLS, as `palisade
// api --tls-cert … --tls-key … --tls-client-ca …` serves it: from files,
// with services.Hardening's limits, callers named by their certificates.
type tlsEnv struct {
	*env
	ca     *tlstest.CA
	server *tlstest.Cert // the files the API serves from
}

func newTLSEnv(t testing.TB, engine *policy.Engine) *tlsEnv {
	t.Helper()
	ca := tlstest.NewCA(t, "palisade clients and servers")
	server := ca.Server(t)
	src, err := tlsfiles.Load(tlsfiles.Files{Cert: server.CertFile, Key: server.KeyFile, CA: ca.File}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := src.ServerConfig("h2")
	if err != nil {
		t.Fatal(err)
	}
	s := palisadetest.Start(t, palisadetest.Options{TLS: cfg, Policy: engine, ServerOptions: services.Hardening()})
	return &tlsEnv{
		env: &env{t: t, ctx: s.Context(), stack: s, ns: s.Server, js: s.JetStream, topology: s.Topology, sim: s.Sim, simURL: s.EndpointURL, ec2: s.EC2},
		ca:  ca, server: server,
	}
}

// as dials the API with a client certificate from ca naming id (no
// certificate when ca is nil), trusting the API's CA.
func (e *tlsEnv) as(ca *tlstest.CA, id string) *palisadetest.Clients {
	e.t.Helper()
	var cert *tlstest.Cert
	if ca != nil {
		cert = ca.Client(e.t, id)
	}
	return e.stack.Dial(credentials.NewTLS(tlstest.ClientTLS(e.ca, cert)))
}

func createIn(account, name, requestID string) *palisadev1.CreateSecurityGroupRequest {
	return &palisadev1.CreateSecurityGroupRequest{
		Location: &palisadev1.Location{AccountId: account, Region: region}, GroupName: name, Description: "tls test", RequestId: requestID,
	}
}

// TestTLSRefusesUnauthenticatedClients: a client without a certificate,
// with one from another CA, with an expired one, with one made for
// servers only, or without TLS at all is refused at the handshake (the
// call fails UNAVAILABLE); one the CA signed but that names no caller
// (or poses as a SPIFFE ID in its CN) is refused UNAUTHENTICATED.
// Nothing any of them sends is stored or audited, and a request over the
// size limit is refused before it is read.
func TestTLSRefusesUnauthenticatedClients(t *testing.T) {
	e := newTLSEnv(t, nil)
	rogue := tlstest.NewCA(t, "palisade clients and servers") // same name, other key
	auditBefore, commandsBefore := len(e.auditTrail()), e.commandsStored()

	dialTLS := func(c *tlstest.Cert) *palisadetest.Clients {
		return e.stack.Dial(credentials.NewTLS(tlstest.ClientTLS(e.ca, c)))
	}
	atHandshake := map[string]*palisadetest.Clients{
		"no client certificate": e.as(nil, ""),
		"another CA":            e.as(rogue, callerA),
		"expired": dialTLS(e.ca.Issue(t, tlstest.Spec{URIs: []string{callerA}, Client: true,
			NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})),
		"server certificate as client": dialTLS(e.ca.Issue(t, tlstest.Spec{URIs: []string{callerA}, Server: true})),
		"plaintext":                    e.stack.Dial(insecure.NewCredentials()),
	}
	for name, c := range atHandshake {
		_, err := c.SecurityGroups.CreateSecurityGroup(e.ctx, createIn(accountA, "intruder", ""))
		if status.Code(err) != codes.Unavailable {
			t.Errorf("%s: create answered %v, want UNAVAILABLE (refused at the handshake)", name, err)
		}
		if _, err := healthpb.NewHealthClient(c.Conn).Check(e.ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
			t.Errorf("%s: health answered %v, want UNAVAILABLE", name, err)
		}
	}
	nameless := map[string]*palisadetest.Clients{
		"no name":                  dialTLS(e.ca.Issue(t, tlstest.Spec{Client: true})),
		"CN posing as a SPIFFE ID": dialTLS(e.ca.Issue(t, tlstest.Spec{CommonName: callerA, Client: true})),
		"two SPIFFE IDs":           dialTLS(e.ca.Issue(t, tlstest.Spec{URIs: []string{callerB, callerA}, Client: true})),
		"CN posing as local":       dialTLS(e.ca.Issue(t, tlstest.Spec{CommonName: services.LocalCaller, Client: true})),
	}
	for name, c := range nameless {
		_, err := c.SecurityGroups.CreateSecurityGroup(e.ctx, createIn(accountA, "intruder", ""))
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: create answered %v, want UNAUTHENTICATED", name, err)
		}
		if _, err := c.Operations.ListOperations(e.ctx, &longrunningpb.ListOperationsRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: list answered %v, want UNAUTHENTICATED", name, err)
		}
	}

	big := createIn(accountA, "big", "")
	big.Description = strings.Repeat("x", services.MaxRequestBytes)
	if _, err := e.as(e.ca, callerA).SecurityGroups.CreateSecurityGroup(e.ctx, big); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a request over the size limit answered %v, want RESOURCE_EXHAUSTED", err)
	}

	if got := len(e.auditTrail()); got != auditBefore {
		t.Errorf("%d audit records were written for refused clients", got-auditBefore)
	}
	if got := e.commandsStored(); got != commandsBefore {
		t.Errorf("%d commands were stored for refused clients", got-commandsBefore)
	}
}

// teamsPolicy lets team A change groups in account A and team B in
// account B, under the shipped guardrails.
func teamsPolicy(t *testing.T) *policy.Engine {
	t.Helper()
	def, err := os.ReadFile(filepath.Join("..", "deploy", "policy", "default.cedar"))
	if err != nil {
		t.Fatal(err)
	}
	anyone := `@id("any-caller-may-change-groups")
permit (principal, action, resource is Palisade::SecurityGroup);`
	if !strings.Contains(string(def), anyone) {
		t.Fatalf("default.cedar no longer opens with %q; update the test", anyone)
	}
	guardrails := strings.Replace(string(def), anyone, "", 1)
	teams := `
@id("team-a-in-its-account")
permit (principal == Palisade::Caller::"` + callerA + `", action, resource in Palisade::Account::"` + accountA + `");

@id("team-b-in-its-account")
permit (principal == Palisade::Caller::"` + callerB + `", action, resource in Palisade::Account::"` + accountB + `");
`
	dir := t.TempDir()
	for name, body := range map[string]string{"guardrails.cedar": guardrails, "teams.cedar": teams} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	engine, err := policy.NewEngine(dir)
	if err != nil {
		t.Fatal(err)
	}
	return engine
}

// TestTLSCallerIsTheSPIFFEID: the SPIFFE ID of the client certificate is
// the caller the policy decides on, the operation records and the audit
// trail names; another caller sees none of its operations and cannot
// take them over by reusing their request id.
func TestTLSCallerIsTheSPIFFEID(t *testing.T) {
	e := newTLSEnv(t, teamsPolicy(t))
	a, b := e.as(e.ca, callerA), e.as(e.ca, callerB)
	auditBefore := len(e.auditTrail())

	const requestID = "0b5d1c2e-3f4a-4b6c-8d7e-9f0a1b2c3d4e"
	op, err := a.SecurityGroups.CreateSecurityGroup(e.ctx, createIn(accountA, "team-a-web", requestID))
	if err != nil {
		t.Fatalf("A in its own account: %v", err)
	}
	if md := metadata(t, op); md.GetCaller() != callerA {
		t.Fatalf("operation caller %q, want %q", md.GetCaller(), callerA)
	}
	_, err = a.SecurityGroups.CreateSecurityGroup(e.ctx, createIn(accountB, "team-a-web", ""))
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("A in B's account answered %v, want PERMISSION_DENIED", err)
	}

	trail := e.auditTrail()[auditBefore:]
	if len(trail) != 2 {
		t.Fatalf("%d audit records, want 2: %v", len(trail), trail)
	}
	allowed, denied := trail[0], trail[1]
	if allowed.GetCaller() != callerA || allowed.GetDecision() != palisadev1.AuditDecision_AUDIT_DECISION_ALLOW ||
		allowed.GetOperation() != op.GetName() || strings.Join(allowed.GetPolicies(), ",") != "team-a-in-its-account" {
		t.Errorf("the allowed create was audited as %v", allowed)
	}
	if denied.GetCaller() != callerA || denied.GetDecision() != palisadev1.AuditDecision_AUDIT_DECISION_DENY || denied.GetOperation() != "" {
		t.Errorf("the denied create was audited as %v", denied)
	}

	// B, with a certificate of the same CA, cannot see or touch A's
	// operation.
	if _, err := b.Operations.GetOperation(e.ctx, &longrunningpb.GetOperationRequest{Name: op.GetName()}); status.Code(err) != codes.NotFound {
		t.Errorf("B got A's operation: %v, want NOT_FOUND", err)
	}
	if _, err := b.Operations.WaitOperation(e.ctx, &longrunningpb.WaitOperationRequest{Name: op.GetName()}); status.Code(err) != codes.NotFound {
		t.Errorf("B waited on A's operation: %v, want NOT_FOUND", err)
	}
	if _, err := b.Operations.CancelOperation(e.ctx, &longrunningpb.CancelOperationRequest{Name: op.GetName()}); status.Code(err) != codes.NotFound {
		t.Errorf("B cancelled A's operation: %v, want NOT_FOUND", err)
	}
	if w, err := b.Events.WatchOperation(e.ctx, &palisadev1.WatchOperationRequest{Name: op.GetName()}); err == nil {
		if _, err = w.Recv(); status.Code(err) != codes.NotFound {
			t.Errorf("B watched A's operation: %v, want NOT_FOUND", err)
		}
	}
	list, err := b.Operations.ListOperations(e.ctx, &longrunningpb.ListOperationsRequest{})
	if err != nil || len(list.GetOperations()) != 0 {
		t.Errorf("B listed %v (%v), want none", list.GetOperations(), err)
	}
	// A's request id is A's alone: from B it is a new request, decided
	// for B, in A's account denied.
	if _, err := b.SecurityGroups.CreateSecurityGroup(e.ctx, createIn(accountA, "team-a-web", requestID)); status.Code(err) != codes.PermissionDenied {
		t.Errorf("B replaying A's request answered %v, want PERMISSION_DENIED", err)
	}
	opB, err := b.SecurityGroups.CreateSecurityGroup(e.ctx, createIn(accountB, "team-a-web", requestID))
	if err != nil {
		t.Fatalf("B in its own account: %v", err)
	}
	if opB.GetName() == op.GetName() || metadata(t, opB).GetCaller() != callerB {
		t.Errorf("B's create with A's request id is %s by %q; want an operation of B's own", opB.GetName(), metadata(t, opB).GetCaller())
	}
	bTrail := e.auditTrail()[auditBefore+2:]
	if len(bTrail) < 2 {
		t.Errorf("B's calls left %d audit records", len(bTrail))
	}
	for _, rec := range bTrail {
		if rec.GetCaller() != callerB {
			t.Errorf("B's call audited with caller %q: %v", rec.GetCaller(), rec)
		}
	}
	list, err = a.Operations.ListOperations(e.ctx, &longrunningpb.ListOperationsRequest{})
	if err != nil || len(list.GetOperations()) != 1 || list.GetOperations()[0].GetName() != op.GetName() {
		t.Errorf("A listed %v (%v), want its one operation", list.GetOperations(), err)
	}
}

// TestTLSServerCertificateRotation: the server's certificate, key and
// client CA files are replaced while it runs; the next connection gets
// the new certificate and the new CA decides who gets in, without a
// restart, while a connection made before keeps working.
func TestTLSServerCertificateRotation(t *testing.T) {
	e := newTLSEnv(t, nil)
	before := e.as(e.ca, callerA)
	servedTo := func(c *palisadetest.Clients) (*x509.Certificate, error) {
		var p peer.Peer
		if _, err := c.Operations.ListOperations(e.ctx, &longrunningpb.ListOperationsRequest{}, grpc.Peer(&p)); err != nil {
			return nil, err
		}
		return p.AuthInfo.(credentials.TLSInfo).State.PeerCertificates[0], nil
	}
	first, err := servedTo(before)
	if err != nil {
		t.Fatal(err)
	}
	if first.SerialNumber.Cmp(e.server.Leaf.SerialNumber) != 0 {
		t.Fatal("the first connection did not get the first certificate")
	}

	// Rotate everything to a new CA, key first as a careless tool
	// might: in between, the old pair stays in use.
	ca2 := tlstest.NewCA(t, "palisade, next CA")
	next := ca2.Server(t)
	tlstest.WriteFile(t, e.server.KeyFile, next.KeyPEM)
	if got, err := servedTo(e.stack.Dial(credentials.NewTLS(tlstest.ClientTLS(e.ca, e.ca.Client(t, callerA))))); err != nil ||
		got.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("with only the key replaced: %v, %v; want the first certificate still", got, err)
	}
	tlstest.WriteFile(t, e.server.CertFile, next.CertPEM)
	tlstest.WriteFile(t, e.ca.File, ca2.PEM)

	after := e.stack.Dial(credentials.NewTLS(tlstest.ClientTLS(ca2, ca2.Client(t, callerA))))
	got, err := servedTo(after)
	if err != nil {
		t.Fatalf("a client of the new CA: %v", err)
	}
	if got.SerialNumber.Cmp(next.Leaf.SerialNumber) != 0 {
		t.Fatalf("a new connection got serial %v, want the rotated certificate's %v", got.SerialNumber, next.Leaf.SerialNumber)
	}
	oldClient := e.stack.Dial(credentials.NewTLS(tlstest.ClientTLS(ca2, e.ca.Client(t, callerA))))
	if _, err := servedTo(oldClient); status.Code(err) != codes.Unavailable {
		t.Errorf("a new connection with a certificate of the removed CA: %v, want refused at the handshake", err)
	}
	if got, err := servedTo(before); err != nil || got.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Errorf("the connection made before rotation: %v, %v; want it still up on the first certificate", got, err)
	}
}
