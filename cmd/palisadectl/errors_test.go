package main

import (
	"net"
	"strings"
	"sync"
	"testing"
)

func TestInvalidInputPrintsEveryFieldViolation(t *testing.T) {
	s := newStack(t)
	r := s.ctl(nil, "authorize-security-group-ingress", "--group-id", "sg-0123456789abcdef0",
		"--ip-permissions", "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0},{CidrIp=10.0.0.0/33}]",
		"IpProtocol=udp,FromPort=53,ToPort=53,IpRanges=[{CidrIp=300.1.1.1/32}]").must(t, exitUsage)
	for _, want := range []string{"InvalidArgument", "ip_permissions[0].ip_ranges[1].cidr_ip: ", "ip_permissions[1].ip_ranges[0].cidr_ip: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("nothing belongs on stdout, got %q", r.stdout)
	}
}

func TestLocalUsageErrors(t *testing.T) {
	env := map[string]string{"PALISADE_SERVER": closedAddr(t)} // none of these may reach a server
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command given"},
		{"unknown command", []string{"create-vpc"}, "Commands:"},
		{"unknown flag", []string{"describe-security-groups", "--nope"}, "flag provided but not defined: -nope"},
		{"missing value", []string{"create-security-group", "--group-name"}, "flag needs an argument"},
		{"missing required", []string{"create-security-group", "--group-name", "x"}, "--group-name and --description are required"},
		{"bad shorthand", []string{"authorize-security-group-ingress", "--group-id", "sg-1", "--ip-permissions", "IpProtocol=tcp,FromPort=x"},
			"--ip-permissions: "},
		{"unknown permission key", []string{"authorize-security-group-egress", "--group-id", "sg-1", "--ip-permissions", "IpProtocol=tcp,Port=22"},
			`unknown key "Port"`},
		{"both forms", []string{"authorize-security-group-ingress", "--group-id", "sg-1", "--ip-permissions", "IpProtocol=tcp", "--protocol", "tcp"},
			"cannot be combined"},
		{"no rules", []string{"authorize-security-group-ingress", "--group-id", "sg-1"}, "name the rules"},
		{"no group", []string{"revoke-security-group-ingress", "--security-group-rule-ids", "sgr-1"}, "--group-id is required"},
		{"ids and rules", []string{"revoke-security-group-egress", "--group-id", "sg-1", "--security-group-rule-ids", "sgr-1", "--cidr", "10.0.0.0/8", "--protocol", "all"},
			"not both"},
		{"bad port", []string{"authorize-security-group-ingress", "--group-id", "sg-1", "--protocol", "tcp", "--port", "ssh", "--cidr", "10.0.0.0/8"},
			`--port "ssh"`},
		{"bad output", []string{"describe-security-groups", "--output", "yaml"}, `--output "yaml"`},
		{"bad filter", []string{"describe-security-groups", "--filters", "Name=group-name"}, `filter "group-name" has no values`},
		{"bad tag", []string{"create-security-group", "--group-name", "a", "--description", "b", "--tags", "Name=x"}, `unknown key "Name"`},
		{"extra argument", []string{"delete-security-group", "--group-id", "sg-1", "extra"}, "unexpected arguments"},
		{"operation missing", []string{"get-operation"}, "name one operation"},
		{"bad env", []string{"describe-security-groups"}, "PALISADE_TIMEOUT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			if c.name == "bad env" {
				e["PALISADE_TIMEOUT"] = "soon"
			}
			r := ctl(t, e, "", c.args...).must(t, exitUsage)
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, r.stderr)
			}
		})
	}
}

// closedAddr is an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestUnreachableServerExits4Quickly(t *testing.T) {
	addr := closedAddr(t)
	for _, args := range [][]string{
		{"describe-security-groups"},
		{"create-security-group", "--group-name", "ftp-sg", "--description", "d", "--wait"},
		{"watch", "operations/abc"},
	} {
		// --timeout is far longer than --connect-timeout: exit 4 means
		// the connect timeout, not the command's, ended the run.
		r := ctl(t, nil, "", append(args, "--server", addr, "--connect-timeout", "2s", "--timeout", "60s")...).must(t, exitUnavailable)
		if !strings.Contains(r.stderr, "Unavailable") || !strings.Contains(r.stderr, "is Palisade running at "+addr) {
			t.Errorf("stderr does not say the server is unreachable:\n%s", r.stderr)
		}
	}
}

// A peer that accepts connections but never speaks gRPC costs
// --connect-timeout, not --timeout.
func TestSilentServerExits4AfterConnectTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	// The command's own --timeout would end in exit 1 with "timeout";
	// exit 4 says the connect timeout gave up on the silent peer first.
	r := ctl(t, nil, "", "describe-security-groups", "--server", ln.Addr().String(), "--connect-timeout", "500ms", "--timeout", "60s").must(t, exitUnavailable)
	if strings.Contains(r.stderr, "--timeout") {
		t.Errorf("the command's timeout ended it, not the connect timeout:\n%s", r.stderr)
	}
}

func TestFailedOperationExits3WithEC2Code(t *testing.T) {
	s := newStack(t)
	s.ctl(nil, "create-security-group", "--group-name", "ftp-sg", "--description", "Rules for FTP traffic", "--wait").must(t, exitOK)
	r := s.ctl(nil, "create-security-group", "--group-name", "ftp-sg", "--description", "Rules for FTP traffic", "--wait").must(t, exitOpFailed)
	if !strings.Contains(r.stderr, "FAILED: InvalidGroup.Duplicate: ") {
		t.Errorf("stderr lacks the EC2 code:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "InvalidGroup.Duplicate") || !strings.Contains(r.stdout, "FAILED") {
		t.Errorf("stdout lacks the outcome:\n%s", r.stdout)
	}
	name := strings.Fields(strings.SplitN(r.stdout, "\n", 2)[0])[1]

	// The failure is found again by watch (exit 3), get-operation (exit 0:
	// it read the operation) and list-operations' filter.
	r = s.ctl(nil, "watch", name).must(t, exitOpFailed)
	if !strings.Contains(r.stdout, "FAILED") || !strings.Contains(r.stderr, "InvalidGroup.Duplicate") {
		t.Errorf("watch of a failed operation:\n%s\n%s", r.stdout, r.stderr)
	}
	r = s.ctl(nil, "get-operation", strings.TrimPrefix(name, "operations/")).must(t, exitOK)
	if !strings.Contains(r.stdout, "InvalidGroup.Duplicate") {
		t.Errorf("get-operation lacks the error:\n%s", r.stdout)
	}
	r = s.ctl(nil, "list-operations", "--filter", "state=FAILED").must(t, exitOK)
	if strings.Count(r.stdout, "operations/") != 1 || !strings.Contains(r.stdout, name) {
		t.Errorf("list-operations --filter state=FAILED:\n%s", r.stdout)
	}
}

func TestServerErrorsMapToExitCodes(t *testing.T) {
	s := newStack(t)
	// NOT_FOUND is "anything else".
	r := s.ctl(nil, "get-operation", "operations/0123456789abcdef0123456789abcdef").must(t, exitError)
	if !strings.Contains(r.stderr, "NotFound") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	// A used request id with a different request is FAILED_PRECONDITION.
	const id = "6f1c3a52-0d8e-4b7a-9c11-2f0e5d4b3a21"
	first := s.ctl(nil, "create-security-group", "--group-name", "a-sg", "--description", "a", "--request-id", id).must(t, exitOK)
	again := s.ctl(nil, "create-security-group", "--group-name", "a-sg", "--description", "a", "--request-id", id).must(t, exitOK)
	if first.stdout != again.stdout {
		t.Errorf("the same request id gave two operations: %q and %q", first.stdout, again.stdout)
	}
	r = s.ctl(nil, "create-security-group", "--group-name", "b-sg", "--description", "b", "--request-id", id).must(t, exitError)
	if !strings.Contains(r.stderr, "FailedPrecondition") || !strings.Contains(r.stderr, "REQUEST_ID_REUSED") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	// An invalid request id is the server's INVALID_ARGUMENT.
	r = s.ctl(nil, "delete-security-group", "--group-id", "sg-0123456789abcdef0", "--request-id", "not a uuid").must(t, exitUsage)
	if !strings.Contains(r.stderr, "request_id: ") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

func TestTimeoutWhileWaitingSaysHowToFollow(t *testing.T) {
	s := newStackWith(t, false) // no worker: the operation never starts
	r := s.ctl(nil, "create-security-group", "--group-name", "ftp-sg", "--description", "d", "--wait", "--timeout", "500ms").must(t, exitError)
	if !strings.Contains(r.stderr, "ACCEPTED") || !strings.Contains(r.stderr, "--timeout 500ms passed") || !strings.Contains(r.stderr, "palisadectl watch operations/") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// TestCancelOperation cancels an operation no worker has started, then
// fails to cancel it again once it has ended (exit 1, the server's reason).
func TestCancelOperation(t *testing.T) {
	s := newStackWith(t, false) // no worker: the operation stays ACCEPTED
	name := strings.TrimSpace(s.ctl(nil, "create-security-group", "--group-name", "later", "--description", "d").must(t, exitOK).stdout)
	r := s.ctl(nil, "cancel-operation", name).must(t, exitOK)
	if !strings.Contains(r.stdout, "CANCELLED") {
		t.Fatalf("cancel-operation printed:\n%s", r.stdout)
	}
	s.ctl(nil, "watch", name).must(t, exitOpFailed)
	s.ctl(nil, "cancel-operation", name).must(t, exitOK) // already cancelled: nothing to do
	s.ctl(nil, "cancel-operation").must(t, exitUsage)
	s.ctl(nil, "cancel-operation", "operations/0123456789abcdef0123456789abcdef").must(t, exitError)
	s.ctl(nil, "cancel-operation", "operations/unknown").must(t, exitUsage)
}
