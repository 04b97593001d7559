// Package clienttest helps test callers of Palisade: Dropper stands
// between a client and the API and drops the connections on demand, as a
// load balancer restarting or a failing network path would, so a test
// can show that a retried call makes one operation, not two.
package clienttest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Dropper is a TCP proxy to one address.
type Dropper struct {
	addr string
	mu   sync.Mutex
	open []net.Conn
}

// NewDropper proxies a new loopback address to target until the test
// ends.
func NewDropper(t testing.TB, target string) *Dropper {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &Dropper{addr: l.Addr().String()}
	go d.serve(l, target)
	t.Cleanup(func() {
		_ = l.Close()
		d.Drop()
	})
	return d
}

// Addr is the address to dial instead of the target.
func (d *Dropper) Addr() string { return d.addr }

// Drop closes every connection open through the proxy; new ones are
// accepted as before.
func (d *Dropper) Drop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.open {
		_ = c.Close()
	}
	d.open = nil
}

func (d *Dropper) serve(l net.Listener, target string) {
	for {
		in, err := l.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", target)
		if err != nil {
			_ = in.Close()
			continue
		}
		d.mu.Lock()
		d.open = append(d.open, in, out)
		d.mu.Unlock()
		go pipe(out, in)
		go pipe(in, out)
	}
}

func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}
