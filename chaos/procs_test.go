package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// workerProc is one `palisade worker` process, restartable.
type workerProc struct {
	t    testing.TB
	name string
	args []string
	logs string

	mu   sync.Mutex
	gen  int
	cmd  *exec.Cmd
	done chan struct{}
}

// workerArgs are the flags every scenario's workers share, after the
// flags connecting to NATS as a worker; extra follow.
func workerArgs(natsArgs []string, ec2URL string, extra ...string) []string {
	args := append([]string{"worker"}, natsArgs...)
	args = append(args, "--ec2-endpoint", ec2URL, "--log-level", "debug")
	return append(args, extra...)
}

// startWorkerProc starts a worker process and stops it (SIGKILL) when the
// test ends, if it still runs; then any permission the NATS server
// refused it, in any generation's log, fails the test: a role lacking
// what its part needs would otherwise show only as retries.
func startWorkerProc(t testing.TB, name string, args []string) *workerProc {
	t.Helper()
	w := &workerProc{t: t, name: name, args: args, logs: t.TempDir()}
	w.start()
	t.Cleanup(func() {
		w.kill()
		w.checkPermissions()
	})
	return w
}

// checkPermissions fails the test on every permissions violation the
// process's logs report.
func (w *workerProc) checkPermissions() {
	logs, err := filepath.Glob(filepath.Join(w.logs, "*.log"))
	if err != nil {
		w.t.Error(err)
		return
	}
	for _, name := range logs {
		b, err := os.ReadFile(name)
		if err != nil {
			w.t.Error(err)
			continue
		}
		for line := range strings.Lines(string(b)) {
			if strings.Contains(strings.ToLower(line), "permissions violation") {
				w.t.Errorf("%s: %s", filepath.Base(name), strings.TrimSpace(line))
			}
		}
	}
}

// start runs a new generation of the process. Its EC2 calls carry
// "app/<name>-<generation>" in their User-Agent, so the endpoint's notes
// tell the generations apart.
func (w *workerProc) start() {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.gen++
	cmd := exec.Command(palisadeBin, w.args...)
	cmd.Env = append(os.Environ(), "AWS_SDK_UA_APP_ID="+w.id())
	logf, err := os.Create(filepath.Join(w.logs, fmt.Sprintf("%s.log", w.id())))
	if err != nil {
		w.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(done) }()
	w.cmd, w.done = cmd, done
}

func (w *workerProc) id() string { return fmt.Sprintf("%s-%d", w.name, w.gen) }

// current returns the running generation's id.
func (w *workerProc) current() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.id()
}

// kill sends SIGKILL and waits for the process to be gone.
func (w *workerProc) kill() { w.signal(syscall.SIGKILL) }

// terminate sends SIGTERM and returns how long the process took to exit.
func (w *workerProc) terminate() time.Duration {
	start := time.Now()
	w.signal(syscall.SIGTERM)
	return time.Since(start)
}

func (w *workerProc) signal(sig syscall.Signal) {
	w.mu.Lock()
	cmd, done := w.cmd, w.done
	w.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	<-done
}

// exitCode of the last generation, once it has exited.
func (w *workerProc) exitCode() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cmd.ProcessState.ExitCode()
}
