package workers

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ec2errors"
)

// TestConsistencyWaitsDoNotSpendFaultRetries: an operation that spent
// many attempts waiting for EC2 to show a new group still retries its
// first EC2 fault. Counting every attempt against --max-attempts failed
// creates under eventual consistency plus faults after one fault.
func TestConsistencyWaitsDoNotSpendFaultRetries(t *testing.T) {
	w := &Worker{opts: Options{MaxAttempts: 3}}
	w.opts.setDefaults()
	md := &palisadev1.OperationMetadata{Attempts: 12, StartTime: timestamppb.New(time.Now().Add(-5 * time.Second))}
	if _, retry := w.decide(md, &ec2Error{class: ec2errors.Transient, code: "InternalError"}, 1); !retry {
		t.Fatal("first fault after consistency waits not retried")
	}
	if _, retry := w.decide(md, &ec2Error{class: ec2errors.Throttled, code: "RequestLimitExceeded"}, 3); retry {
		t.Fatal("third fault retried with --max-attempts 3")
	}
	if _, retry := w.decide(md, &ec2Error{class: ec2errors.NotVisible, code: "InvalidGroup.NotFound"}, 0); !retry {
		t.Fatal("not-visible within the window not retried")
	}
	md.StartTime = timestamppb.New(time.Now().Add(-time.Hour))
	if _, retry := w.decide(md, &ec2Error{class: ec2errors.NotVisible, code: "InvalidGroup.NotFound"}, 0); retry {
		t.Fatal("not-visible retried past the window")
	}
}
