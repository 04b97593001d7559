package palisadetest_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/workers"
)

func createGroup(t *testing.T, s *palisadetest.Stack, name string) string {
	t.Helper()
	op, err := s.SecurityGroups.CreateSecurityGroup(s.Context(), &palisadev1.CreateSecurityGroupRequest{
		Location: loc, GroupName: name, Description: name})
	if err != nil {
		t.Fatal(err)
	}
	return op.GetName()
}

func wantCorrupt(t *testing.T, what string, err error) {
	t.Helper()
	if status.Code(err) != codes.DataLoss || !strings.Contains(status.Convert(err).Message(), "is corrupt") {
		t.Errorf("%s answered %v; want DATA_LOSS \"... is corrupt\"", what, err)
	}
}

// TestCorruptOperationRecordsAreReported: records tampered with in the
// operations bucket (bytes that do not decode; another operation's record
// stored under this one's id) are reported as DATA_LOSS by GetOperation,
// ListOperations, WaitOperation and WatchOperation, none of which serves
// the tampered content; and a worker handed the command of a tampered
// operation does not act on it: it leaves the record as it is and makes
// no EC2 call for it.
func TestCorruptOperationRecordsAreReported(t *testing.T) {
	s := palisadetest.Start(t, palisadetest.Options{})
	ctx := s.Context()
	kv, err := s.JetStream.KeyValue(ctx, bus.OperationsBucket)
	if err != nil {
		t.Fatal(err)
	}
	garbled := createGroup(t, s, "garbled")
	swapped := createGroup(t, s, "swapped")
	healthy := createGroup(t, s, "healthy")
	idOf := func(name string) string { id, _ := operations.IDFromName(name); return id }

	other, err := kv.Get(ctx, idOf(healthy))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, idOf(garbled), []byte("\xff\xff\xff not a record")); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, idOf(swapped), other.Value()); err != nil { // a valid record, of another id
		t.Fatal(err)
	}

	for _, name := range []string{garbled, swapped} {
		_, err := s.Operations.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: name})
		wantCorrupt(t, "GetOperation "+name, err)
		_, err = s.Operations.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: name, Timeout: durationpb.New(time.Second)})
		wantCorrupt(t, "WaitOperation "+name, err)
		w, err := s.Events.WatchOperation(ctx, &palisadev1.WatchOperationRequest{Name: name})
		if err == nil {
			var resp *palisadev1.WatchOperationResponse
			resp, err = w.Recv()
			if resp != nil {
				t.Errorf("WatchOperation %s served %v", name, resp)
			}
		}
		wantCorrupt(t, "WatchOperation "+name, err)
	}
	_, err = s.Operations.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Name: "operations"})
	wantCorrupt(t, "ListOperations", err)
	if _, err := s.Operations.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: healthy}); err != nil {
		t.Fatalf("the healthy operation: %v", err)
	}

	// A worker meets all three commands; the healthy one is done.
	s.StartWorker(workers.Options{})
	done, err := s.Operations.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: healthy, Timeout: durationpb.New(30 * time.Second)})
	if err != nil || !done.GetDone() {
		t.Fatalf("the healthy operation: %v, done=%v", err, done.GetDone())
	}
	for name, want := range map[string][]byte{garbled: []byte("\xff\xff\xff not a record"), swapped: other.Value()} {
		e, err := kv.Get(ctx, idOf(name))
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Value()) != string(want) {
			t.Errorf("%s: the worker rewrote the tampered record", name)
		}
	}
	out, err := s.EC2.Client(loc.GetAccountId(), loc.GetRegion()).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{"garbled", "swapped"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecurityGroups) != 0 {
		t.Errorf("a worker acted on a tampered operation: EC2 holds %d of its groups", len(out.SecurityGroups))
	}
}

func eventConsumers(t *testing.T, s *palisadetest.Stack) int {
	t.Helper()
	st, err := s.JetStream.Stream(s.Context(), bus.EventStream)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	names := st.ConsumerNames(s.Context())
	for range names.Name() {
		n++
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWatchStreamsLeaveNoConsumers: 1,000 WatchOperation streams through
// the gRPC port, half read once and cancelled while the operation is
// still waiting, half followed to the end of an operation that ended,
// leave the event stream's consumers as they were.
func TestWatchStreamsLeaveNoConsumers(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 watches")
	}
	s := palisadetest.Start(t, palisadetest.Options{})
	ctx := s.Context()
	waiting := createGroup(t, s, "waiting")
	ended := createGroup(t, s, "ended")
	if _, err := s.Operations.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: ended}); err != nil {
		t.Fatal(err)
	}
	baseline := eventConsumers(t, s)

	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := watchOnce(ctx, s, i%2 == 0, waiting, ended); err != nil {
					t.Errorf("watch %d: %v", i, err)
				}
			}
		}()
	}
	for i := range 1000 {
		work <- i
	}
	close(work)
	wg.Wait()
	took := time.Since(start)

	deadline := time.Now().Add(30 * time.Second)
	n := eventConsumers(t, s)
	for n > baseline && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		n = eventConsumers(t, s)
	}
	if n > baseline {
		t.Fatalf("%d consumers on %s after 1,000 watches, %d before", n, bus.EventStream, baseline)
	}
	t.Logf("1,000 watches in %v; consumers back to %d within %v", took.Round(time.Millisecond), n, time.Since(start)-took)
}

// watchOnce reads one event of the waiting operation and cancels, or
// reads the ended one's events to the end.
func watchOnce(ctx context.Context, s *palisadetest.Stack, cancelEarly bool, waiting, ended string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	name := ended
	if cancelEarly {
		name = waiting
	}
	w, err := s.Events.WatchOperation(ctx, &palisadev1.WatchOperationRequest{Name: name})
	if err != nil {
		return err
	}
	if _, err := w.Recv(); err != nil {
		return err
	}
	if cancelEarly {
		return nil
	}
	for {
		_, err := w.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TestWatchCapPerCaller: a caller may hold MaxWatchesPerCaller watches
// open; the next is RESOURCE_EXHAUSTED, and once one ends another may
// open.
func TestWatchCapPerCaller(t *testing.T) {
	const limit = 5
	s := palisadetest.Start(t, palisadetest.Options{MaxWatchesPerCaller: limit})
	ctx := s.Context()
	waiting := createGroup(t, s, "waiting")
	open := func() (context.CancelFunc, error) {
		wctx, cancel := context.WithCancel(ctx)
		w, err := s.Events.WatchOperation(wctx, &palisadev1.WatchOperationRequest{Name: waiting})
		if err == nil {
			_, err = w.Recv()
		}
		if err != nil {
			cancel()
		}
		return cancel, err
	}
	var cancels []context.CancelFunc
	for i := range limit {
		cancel, err := open()
		if err != nil {
			t.Fatalf("watch %d of %d: %v", i+1, limit, err)
		}
		cancels = append(cancels, cancel)
	}
	if _, err := open(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("watch %d answered %v; want RESOURCE_EXHAUSTED", limit+1, err)
	}
	_, err := s.Operations.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: waiting, Timeout: durationpb.New(time.Second)})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("WaitOperation beyond the cap answered %v; want RESOURCE_EXHAUSTED", err)
	}
	cancels[0]()
	// The server notices the cancel shortly; poll for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		cancel, err := open()
		if err == nil {
			cancels = append(cancels, cancel)
			break
		}
		if status.Code(err) != codes.ResourceExhausted || time.Now().After(deadline) {
			t.Fatalf("a watch after one ended: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range cancels {
		c()
	}
}
