package policy

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Engine holds the policy in force and follows its files: a changed
// policy that loads replaces it at once; one that does not is logged and
// the one in force stays (a bad edit never opens or closes everything).
type Engine struct {
	path string
	// loaded stamps the files as they were just before the policy in
	// force at start was read, so Watch sees any change made after.
	loaded  string
	current atomic.Pointer[Set]
}

// NewEngine loads the policy at path, or the shipped default when path is
// "". It refuses a policy that does not load.
func NewEngine(path string) (*Engine, error) {
	var s *Set
	var err error
	loaded := stamp(path)
	if path == "" {
		s, err = Default()
	} else {
		s, err = Load(path)
	}
	if err != nil {
		return nil, err
	}
	e := &Engine{path: path, loaded: loaded}
	e.current.Store(s)
	return e, nil
}

// Permissive is the engine of the insecure loopback default, where every
// caller is "local": it allows everything, and still has every decision
// audited. Anything reachable from elsewhere runs a real policy.
func Permissive() *Engine {
	s, err := build("loopback default", []file{{name: "loopback.cedar", body: []byte(
		`@id("loopback-default-allows-all") permit (principal, action, resource);`)}}, nil)
	if err != nil {
		panic(err) // a constant policy that does not load is a bug
	}
	e := &Engine{}
	e.current.Store(s)
	return e
}

// Current is the policy in force.
func (e *Engine) Current() *Set { return e.current.Load() }

// Decide decides c with the policy in force.
func (e *Engine) Decide(c Check) Decision { return e.Current().Decide(c) }

// Watch reloads the policy when its files change, checking every
// interval, until ctx ends. Files are loaded only once they have stayed
// the same for one interval, so a file caught half written is never
// loaded. The default policy never changes.
func (e *Engine) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if e.path == "" {
		return
	}
	last, settling := e.loaded, ""
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := stamp(e.path)
		if now == last {
			settling = ""
			continue
		}
		if now != settling {
			settling = now // changed since the last look: wait for it to settle
			continue
		}
		last, settling = now, "" // stamped before reading, so a change while loading is seen next time
		s, err := Load(e.path)
		if err != nil {
			log.ErrorContext(ctx, "changed policy refused; the one in force stays", "path", e.path, "error", err)
			continue
		}
		if s.Version() == e.Current().Version() {
			continue
		}
		e.current.Store(s)
		log.InfoContext(ctx, "policy reloaded", "path", e.path, "version", s.Version())
	}
}

// stamp summarises the modification times and sizes of path and the
// files in it, so a change to any of them is seen.
func stamp(path string) string {
	var b []byte
	add := func(p string) {
		if info, err := os.Stat(p); err == nil {
			b = info.ModTime().AppendFormat(b, time.RFC3339Nano)
			b = append(b, byte(info.Size()), byte(info.Size()>>8), ' ')
		}
	}
	add(path)
	if entries, err := os.ReadDir(path); err == nil {
		for _, en := range entries {
			b = append(b, en.Name()...)
			add(filepath.Join(path, en.Name()))
		}
	}
	return string(b)
}
