package ec2sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// The state file is JSON: a format version and every world. Throttle
// buckets, counters and the call log are not state of EC2 and are not kept.

const stateVersion = 1

type stateFile struct {
	Version int      `json:"version"`
	Worlds  []*world `json:"worlds"`
}

// load reads the state file if there is one. A missing file is an empty
// endpoint; an unreadable or malformed one is an error, because silently
// starting empty would lose the state the caller asked to keep.
func (s *Sim) load() error {
	b, err := os.ReadFile(s.opts.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ec2sim: read state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("ec2sim: parse state %s: %w", s.opts.StateFile, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("ec2sim: state %s has version %d, want %d", s.opts.StateFile, st.Version, stateVersion)
	}
	for _, w := range st.Worlds {
		if w == nil || w.VPCs == nil || w.Groups == nil || w.Rules == nil {
			return fmt.Errorf("ec2sim: state %s holds an incomplete world", s.opts.StateFile)
		}
		s.worlds[worldKey{w.Account, w.Region}] = w
	}
	return nil
}

// save writes the whole state atomically: a temporary file in the same
// directory, synced, then renamed over the old one, so a crash leaves either
// the old or the new state and never a torn file. Saves are serialised and
// each takes its snapshot after the change that triggered it, so the last
// save to finish holds every change made before it began.
func (s *Sim) save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	b, err := s.snapshot()
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.opts.StateFile)
	tmp, err := os.CreateTemp(dir, filepath.Base(s.opts.StateFile)+".tmp-*")
	if err != nil {
		return fmt.Errorf("ec2sim: save state: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("ec2sim: save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("ec2sim: save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("ec2sim: save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.opts.StateFile); err != nil {
		return fmt.Errorf("ec2sim: save state: %w", err)
	}
	return nil
}

// snapshot serialises every world, each under its own lock.
func (s *Sim) snapshot() ([]byte, error) {
	s.mu.RLock()
	worlds := make([]*world, 0, len(s.worlds))
	for _, w := range s.worlds {
		worlds = append(worlds, w)
	}
	s.mu.RUnlock()
	sort.Slice(worlds, func(i, j int) bool {
		if worlds[i].Account != worlds[j].Account {
			return worlds[i].Account < worlds[j].Account
		}
		return worlds[i].Region < worlds[j].Region
	})
	parts := make([]json.RawMessage, len(worlds))
	for i, w := range worlds {
		w.mu.Lock()
		b, err := json.Marshal(w)
		w.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("ec2sim: encode state: %w", err)
		}
		parts[i] = b
	}
	return json.MarshalIndent(struct {
		Version int               `json:"version"`
		Worlds  []json.RawMessage `json:"worlds"`
	}{stateVersion, parts}, "", " ")
}
