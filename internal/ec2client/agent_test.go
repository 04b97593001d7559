package ec2client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// TestCallsNameTheirOperation: a call made under ForOperation carries the
// operation id and the caller in its user agent (what CloudTrail records);
// a call without it carries neither; the client's other calls are not
// affected by an earlier one.
func TestCallsNameTheirOperation(t *testing.T) {
	var mu sync.Mutex
	var agents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		agents = append(agents, r.Header.Get("User-Agent"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><securityGroupInfo/></DescribeSecurityGroupsResponse>`)
	}))
	t.Cleanup(srv.Close)
	f, err := New(context.Background(), Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := f.Client("111122223333", "us-east-1")
	ctx := ForOperation(context.Background(), "3f2b8c1e4d5a4b6c", "spiffe://example.org/ci")
	if _, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{}); err != nil {
		t.Fatal(err)
	}
	if len(agents) != 2 {
		t.Fatalf("%d calls", len(agents))
	}
	if !strings.Contains(agents[0], "palisade-op/3f2b8c1e4d5a4b6c") || !strings.Contains(agents[0], "palisade-caller/spiffe---example.org-ci") {
		t.Errorf("user agent %q does not name the operation and caller", agents[0])
	}
	if strings.Contains(agents[1], "palisade-op") || strings.Contains(agents[1], "palisade-caller") {
		t.Errorf("a call without an operation names one: %q", agents[1])
	}
}
