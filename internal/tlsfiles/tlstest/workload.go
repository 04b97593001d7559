package tlstest

import (
	"encoding/pem"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"google.golang.org/grpc"
)

// WorkloadAPI is a SPIFFE Workload API for tests, on a unix socket in
// the test's temporary directory: it hands every watcher the X.509-SVID
// and bundle last given to Set.
type WorkloadAPI struct {
	// Addr is where it listens, "unix:///…".
	Addr string

	workload.UnimplementedSpiffeWorkloadAPIServer
	mu      sync.Mutex
	resp    *workload.X509SVIDResponse
	changed chan struct{}
}

// StartWorkloadAPI starts a Workload API handing out svid (whose one URI
// SAN is its SPIFFE ID) with ca's certificate as the trust bundle; it
// stops when the test ends.
func StartWorkloadAPI(t testing.TB, svid *Cert, ca *CA) *WorkloadAPI {
	t.Helper()
	w := &WorkloadAPI{changed: make(chan struct{})}
	w.Set(t, svid, ca)
	path := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	workload.RegisterSpiffeWorkloadAPIServer(srv, w)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	w.Addr = "unix://" + path
	return w
}

// Set hands svid and ca's bundle to every watcher, now and from now on.
func (w *WorkloadAPI) Set(t testing.TB, svid *Cert, ca *CA) {
	t.Helper()
	if len(svid.Leaf.URIs) != 1 {
		t.Fatal("an X.509-SVID has exactly one URI SAN")
	}
	key, _ := pem.Decode(svid.KeyPEM)
	resp := &workload.X509SVIDResponse{Svids: []*workload.X509SVID{{
		SpiffeId: svid.Leaf.URIs[0].String(), X509Svid: svid.Leaf.Raw, X509SvidKey: key.Bytes, Bundle: ca.Cert.Raw,
	}}}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.resp = resp
	close(w.changed)
	w.changed = make(chan struct{})
}

// FetchX509SVID streams the current SVID, then each new one.
func (w *WorkloadAPI) FetchX509SVID(_ *workload.X509SVIDRequest, stream grpc.ServerStreamingServer[workload.X509SVIDResponse]) error {
	for {
		w.mu.Lock()
		resp, changed := w.resp, w.changed
		w.mu.Unlock()
		if err := stream.Send(resp); err != nil {
			return err
		}
		select {
		case <-changed:
		case <-stream.Context().Done():
			return nil
		}
	}
}
