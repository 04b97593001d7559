package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// flakyEvents is an event service whose streams break: each call sends
// the history up to its cut, then fails as a server losing NATS does.
type flakyEvents struct {
	palisadev1.UnimplementedOperationEventServiceServer
	history []*palisadev1.OperationEvent
	mu      sync.Mutex
	cuts    []int // events sent by each successive call; past the end, all
	calls   int
}

func (f *flakyEvents) WatchOperation(r *palisadev1.WatchOperationRequest, s grpc.ServerStreamingServer[palisadev1.WatchOperationResponse]) error {
	f.mu.Lock()
	n := len(f.history)
	if f.calls < len(f.cuts) {
		n = f.cuts[f.calls]
	}
	f.calls++
	f.mu.Unlock()
	for _, ev := range f.history[:n] {
		if err := s.Send(&palisadev1.WatchOperationResponse{Event: ev}); err != nil {
			return err
		}
	}
	if n < len(f.history) {
		return status.Error(codes.Unavailable, "the event stream is unavailable; watch again to resume")
	}
	return nil
}

func serveEvents(t *testing.T, f *flakyEvents) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	palisadev1.RegisterOperationEventServiceServer(gs, f)
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	return ln.Addr().String()
}

func history(states ...palisadev1.OperationState) []*palisadev1.OperationEvent {
	var out []*palisadev1.OperationEvent
	for i, s := range states {
		out = append(out, &palisadev1.OperationEvent{
			OperationId: "x", State: s, Sequence: int32(i + 1), Attempt: int32(i),
			Time: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		})
	}
	return out
}

// A watch resumes after a broken stream and shows every event once.
func TestWatchResumesWithoutRepeats(t *testing.T) {
	f := &flakyEvents{
		history: history(palisadev1.OperationState_OPERATION_STATE_ACCEPTED, palisadev1.OperationState_OPERATION_STATE_RUNNING,
			palisadev1.OperationState_OPERATION_STATE_RETRYING, palisadev1.OperationState_OPERATION_STATE_RUNNING,
			palisadev1.OperationState_OPERATION_STATE_SUCCEEDED),
		cuts: []int{2, 2, 4}, // the second call makes no progress, and is forgiven
	}
	r := ctl(t, map[string]string{"PALISADE_SERVER": serveEvents(t, f)}, "", "watch", "x").must(t, exitOK)
	if got := strings.Count(r.stdout, "\n"); got != 5 {
		t.Fatalf("want 5 event lines, got %d:\n%s", got, r.stdout)
	}
	for i, want := range []string{"ACCEPTED", "RUNNING", "RETRYING", "RUNNING", "SUCCEEDED"} {
		if line := strings.Split(r.stdout, "\n")[i]; !strings.Contains(line, want) {
			t.Errorf("line %d is %q, want %s", i+1, line, want)
		}
	}
}

// A stream that keeps breaking without progress is given up: exit 4.
func TestWatchGivesUpOnABrokenStream(t *testing.T) {
	f := &flakyEvents{history: history(palisadev1.OperationState_OPERATION_STATE_ACCEPTED, palisadev1.OperationState_OPERATION_STATE_SUCCEEDED),
		cuts: []int{1, 1, 1, 1, 1, 1}}
	r := ctl(t, map[string]string{"PALISADE_SERVER": serveEvents(t, f)}, "", "watch", "operations/x").must(t, exitUnavailable)
	f.mu.Lock()
	calls := f.calls
	f.mu.Unlock()
	if strings.Count(r.stdout, "ACCEPTED") != 1 || calls != maxResumes+1 {
		t.Fatalf("calls %d, stdout:\n%s", calls, r.stdout)
	}
	if strings.Contains(r.stderr, "is Palisade running") {
		t.Errorf("the server was reached; no hint about --server belongs here:\n%s", r.stderr)
	}
}

// An interrupted wait says the operation goes on.
func TestInterruptedWait(t *testing.T) {
	s := newStackWith(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	var out, errOut bytes.Buffer
	lookup := func(k string) (string, bool) { return s.addr, k == "PALISADE_SERVER" }
	code := run(ctx, []string{"delete-security-group", "--group-id", "sg-0123456789abcdef0", "--wait"}, lookup, strings.NewReader(""), &out, &errOut)
	if code != exitError || !strings.Contains(errOut.String(), "interrupted: stopped waiting; operation operations/") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut.String())
	}
}
