package chaos

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsauth"
	"github.com/palisadehq/palisade/internal/tlsfiles/tlstest"
)

// TestScenarioNATSIsLocked: the NATS every scenario runs on refuses a
// client without TLS, without a client certificate, without an nkey or
// with one it does not know, and a role publishing where it may not;
// the scenarios' faults are thus survived with the doors shut, not open.
func TestScenarioNATSIsLocked(t *testing.T) {
	c := startNATS(t, 1)
	role := bus.RoleWorker
	roleOpts, err := c.creds.ClientOptions(role)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := natsauth.EnsureCredentials(t.TempDir(), role)
	if err != nil {
		t.Fatal(err)
	}
	strangerOpts, err := stranger.ClientOptions(role)
	if err != nil {
		t.Fatal(err)
	}
	noCert := tlstest.ClientTLS(c.ca, nil)
	otherCA := tlstest.NewCA(t, "another CA")
	for name, opts := range map[string][]nats.Option{
		"no TLS, no nkey":           nil,
		"nkey without TLS":          roleOpts,
		"no client certificate":     append([]nats.Option{nats.Secure(noCert)}, roleOpts...),
		"certificate of another CA": append([]nats.Option{nats.Secure(tlstest.ClientTLS(c.ca, otherCA.Client(t, "spiffe://palisade.test/x")))}, roleOpts...),
		"TLS without nkey":          {nats.Secure(c.clientTLS())},
		"unknown nkey":              append([]nats.Option{nats.Secure(c.clientTLS())}, strangerOpts...),
	} {
		nc, err := nats.Connect(c.URL(), append(opts, nats.Timeout(5*time.Second))...)
		if err == nil {
			nc.Close()
			t.Errorf("%s: connected, want refused", name)
		}
	}

	// A subscriber may not publish a command: the server says so.
	violations := make(chan error, 1)
	subOpts, err := c.creds.ClientOptions(bus.RoleSubscriber)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(c.URL(), append(subOpts, nats.Secure(c.clientTLS()),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case violations <- err:
			default:
			}
		}))...)
	if err != nil {
		t.Fatalf("subscriber with its credentials: %v", err)
	}
	defer nc.Close()
	subject := bus.CommandSubject(account, region, "forged")
	if err := nc.Publish(subject, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-violations:
		if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Errorf("subscriber publishing to %s: %v, want a permissions violation", subject, err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("subscriber published to %s with no permissions violation", subject)
	}
}
