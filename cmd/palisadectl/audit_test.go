package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAudit: the trail lists every decision with its caller, action,
// target and operation, filters by decision and account, rejects bad
// filters, and --follow prints records as they are written.
func TestAudit(t *testing.T) {
	s := newStackWith(t, false)
	env := map[string]string{"PALISADE_ACCOUNT_ID": "111122223333", "AWS_REGION": "us-east-1"}
	created := s.ctl(env, "create-security-group", "--group-name", "audited", "--description", "d").must(t, exitOK)
	opName := strings.TrimSpace(created.stdout)
	s.ctl(map[string]string{"PALISADE_ACCOUNT_ID": "444455556666", "AWS_REGION": "us-east-1"},
		"create-security-group", "--group-name", "elsewhere", "--description", "d").must(t, exitOK)

	all := s.ctl(nil, "audit").must(t, exitOK).stdout
	lines := strings.Split(strings.TrimSpace(all), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "TIME") {
		t.Fatalf("audit table:\n%s", all)
	}
	if !strings.Contains(all, "allow") || !strings.Contains(all, "CreateSecurityGroup") || !strings.Contains(all, opName) ||
		!strings.Contains(all, "111122223333/us-east-1/audited") || !strings.Contains(all, "loopback-default-allows-all") {
		t.Errorf("the create's decision is missing from the trail:\n%s", all)
	}

	one := s.ctl(nil, "audit", "--filter", "account_id=444455556666 AND action=CreateSecurityGroup", "--output", "json").must(t, exitOK).stdout
	if strings.Count(one, `"caller": "local"`) != 1 || !strings.Contains(one, "444455556666") || strings.Contains(one, "111122223333") {
		t.Errorf("filtered by account:\n%s", one)
	}
	if out := s.ctl(nil, "audit", "--filter", "decision=deny").must(t, exitOK).stdout; strings.Count(out, "\n") != 1 {
		t.Errorf("no call was denied, yet:\n%s", out)
	}
	for _, bad := range []string{"decision=maybe", "color=blue", "caller"} {
		if r := s.ctl(nil, "audit", "--filter", bad); r.code != exitUsage || !strings.Contains(r.stderr, "--filter") {
			t.Errorf("--filter %q: exit %d, %s", bad, r.code, r.stderr)
		}
	}
	if r := s.ctl(nil, "audit", "--since", "1m"); r.code != exitUsage {
		t.Errorf("--since without --follow: exit %d", r.code)
	}

	// --follow from a minute ago replays the creates, then stops when
	// interrupted.
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"audit", "--follow", "--since", "1m", "--output", "json", "--filter", "action=CreateSecurityGroup"},
			func(k string) (string, bool) {
				if k == "PALISADE_SERVER" {
					return s.addr, true
				}
				return "", false
			}, strings.NewReader(""), out, out)
	}()
	for strings.Count(out.String(), "\n") < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("interrupted follow exited %d:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "audited") || !strings.Contains(out.String(), "elsewhere") {
		t.Errorf("follow printed:\n%s", out.String())
	}
}

// syncBuffer is a bytes.Buffer a command writes to while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
