package ec2sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Persistence: a snapshot plus an append-only journal, so a change costs
// the size of the change and not the size of the world.
//
//   - The snapshot (Options.StateFile) is JSON: a format version, a
//     generation number and every world. It is replaced atomically (temporary
//     file, fsync, rename).
//   - The journal (StateFile + ".journal") starts with a header naming the
//     snapshot generation it extends; each later line is one record: the
//     objects a call changed, in their new form, or null for those it
//     deleted, each line prefixed by the CRC-32 of its JSON. Replaying the
//     records in order over the snapshot gives the state.
//   - Compaction: once the journal is larger than twice the snapshot (and at
//     least compactMinBytes), a new snapshot with the next generation is
//     written and the journal restarted for it. A crash between the two
//     leaves a journal of the old generation, which load ignores: the new
//     snapshot holds all of it. The snapshot's cost is so spread over at
//     least as many journal bytes as it writes.
//   - Crash safety: a torn last record (a crash during an append) fails its
//     CRC or lacks its newline and is ignored on load, and the journal is
//     cut back to the last whole record. A bad record followed by good ones
//     is corruption, not a torn write, and load refuses the file.
//   - fsync policy: each record is written (write(2)) before the call
//     answers, so a crash of the process loses nothing it acknowledged. The
//     journal is fsynced per record only with Options.SyncJournal; without
//     it, an operating-system crash or power loss may lose the most recent
//     changes (never the order of the rest). Snapshots are always fsynced
//     before they replace the old one.
//
// Throttle buckets, counters and the call log are not state of EC2 and are
// not kept.

const (
	stateVersion   = 1
	journalVersion = 1
	journalSuffix  = ".journal"
	// compactMinBytes keeps a small world from being re-snapshotted every
	// few changes.
	compactMinBytes = 4 << 20
)

type stateFile struct {
	Version    int      `json:"version"`
	Generation int64    `json:"generation,omitempty"`
	Worlds     []*world `json:"worlds"`
}

type journalHeader struct {
	Journal    int   `json:"journal"`
	Generation int64 `json:"generation"`
}

// journalRecord is one world's changes from one flush. A nil value deletes
// the object with that id.
type journalRecord struct {
	Account     string                 `json:"a"`
	Region      string                 `json:"r"`
	DefaultVPC  string                 `json:"d,omitempty"`
	VPCs        map[string]*vpc        `json:"v,omitempty"`
	Groups      map[string]*group      `json:"g,omitempty"`
	Rules       map[string]*rule       `json:"s,omitempty"`
	PrefixLists map[string]*prefixList `json:"p,omitempty"`
	// Associations are keyed "<group id>/<vpc id>".
	Associations map[string]*association `json:"x,omitempty"`
	Peerings     map[string]*peering     `json:"c,omitempty"`
}

// journalState is the Sim's persistence bookkeeping, guarded by Sim.saveMu.
type journalState struct {
	generation    int64
	journalBytes  int64
	snapshotBytes int64
	// broken is set when a compaction wrote its snapshot but could not
	// restart the journal: appends must not go to a journal of the old
	// generation, so the next save compacts again first.
	broken bool
	// fresh holds worlds created since the last save; their default VPC
	// and group are changes like any other.
	fresh []*world
	// compactMin is compactMinBytes; tests lower it.
	compactMin int64
}

func (s *Sim) journalPath() string { return s.opts.StateFile + journalSuffix }

// load reads the snapshot and replays the journal. A missing snapshot is an
// empty endpoint; an unreadable or malformed one is an error, because
// silently starting empty would lose the state the caller asked to keep.
func (s *Sim) load() error {
	b, err := os.ReadFile(s.opts.StateFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("ec2sim: read state: %w", err)
	default:
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
			if w.PrefixLists == nil {
				w.PrefixLists = make(map[string]*prefixList)
			}
			if w.Associations == nil {
				w.Associations = make(map[string]*association)
			}
			if w.Peerings == nil {
				w.Peerings = make(map[string]*peering)
			}
			w.track = true
			s.worlds[worldKey{w.Account, w.Region}] = w
		}
		s.journal.generation = st.Generation
		s.journal.snapshotBytes = int64(len(b))
	}
	good, err := s.replayJournal()
	if err != nil {
		return err
	}
	if good > 0 {
		// Cut a torn tail so the next append starts on a record boundary.
		if err := os.Truncate(s.journalPath(), good); err != nil {
			return fmt.Errorf("ec2sim: repair journal: %w", err)
		}
		s.journal.journalBytes = good
		return nil
	}
	return s.resetJournal()
}

// replayJournal applies the journal's records and returns the length of its
// whole, valid prefix, or 0 when there is no journal of this generation.
func (s *Sim) replayJournal() (int64, error) {
	f, err := os.Open(s.journalPath())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ec2sim: read journal: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var torn bool
	for n := 0; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return off, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("ec2sim: read journal: %w", err)
		}
		payload, ok := checkLine(line)
		if torn && len(line) > 0 {
			return 0, fmt.Errorf("ec2sim: journal %s is corrupt at byte %d: a damaged record is followed by others", s.journalPath(), off)
		}
		if !ok {
			if n == 0 {
				return 0, nil // no usable header: start a new journal
			}
			torn = true
			continue
		}
		if n == 0 {
			var h journalHeader
			if json.Unmarshal(payload, &h) != nil || h.Journal != journalVersion || h.Generation != s.journal.generation {
				// A journal of an older snapshot: the snapshot holds it.
				return 0, nil
			}
		} else {
			var rec journalRecord
			if err := json.Unmarshal(payload, &rec); err != nil {
				return 0, fmt.Errorf("ec2sim: journal %s: record at byte %d: %w", s.journalPath(), off, err)
			}
			s.apply(&rec)
		}
		off += int64(len(line))
	}
}

// checkLine verifies one "<crc32 hex> <json>\n" line.
func checkLine(line []byte) ([]byte, bool) {
	if len(line) < 10 || line[len(line)-1] != '\n' || line[8] != ' ' {
		return nil, false
	}
	want, err := strconv.ParseUint(string(line[:8]), 16, 32)
	payload := line[9 : len(line)-1]
	if err != nil || crc32.ChecksumIEEE(payload) != uint32(want) {
		return nil, false
	}
	return payload, true
}

func appendLine(buf *bytes.Buffer, payload []byte) {
	fmt.Fprintf(buf, "%08x ", crc32.ChecksumIEEE(payload))
	buf.Write(payload)
	buf.WriteByte('\n')
}

// apply replays one record.
func (s *Sim) apply(rec *journalRecord) {
	k := worldKey{rec.Account, rec.Region}
	w := s.worlds[k]
	if w == nil {
		w = newWorld(rec.Account, rec.Region)
		w.track = true
		s.worlds[k] = w
	}
	w.DefaultVPC = rec.DefaultVPC
	for id, v := range rec.VPCs {
		if v == nil {
			delete(w.VPCs, id)
		} else {
			w.VPCs[id] = v
		}
	}
	for id, g := range rec.Groups {
		if g == nil {
			delete(w.Groups, id)
		} else {
			w.Groups[id] = g
		}
	}
	for id, r := range rec.Rules {
		if r == nil {
			delete(w.Rules, id)
		} else {
			w.Rules[id] = r
		}
	}
	for id, p := range rec.Peerings {
		if p == nil {
			delete(w.Peerings, id)
		} else {
			w.Peerings[id] = p
		}
	}
	for k, a := range rec.Associations {
		if a == nil {
			delete(w.Associations, k)
		} else {
			w.Associations[k] = a
		}
	}
	for id, pl := range rec.PrefixLists {
		if pl == nil {
			delete(w.PrefixLists, id)
		} else {
			w.PrefixLists[id] = pl
		}
	}
	w.byName, w.perVPC = nil, nil
}

// save writes the changes of ws, and of worlds created since the last save,
// to the journal, compacting when the journal has grown large enough. Saves
// are serialised; each takes a world's changes under its lock, so records
// reach the journal in the order the changes were made.
func (s *Sim) save(ws ...*world) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	if s.journal.broken {
		if err := s.compact(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	worlds := s.journal.fresh
	s.journal.fresh = nil
	worlds = append(worlds, ws...)
	s.mu.Unlock()

	var buf bytes.Buffer
	taken := make(map[*world][]string, len(worlds))
	for _, x := range worlds {
		if _, done := taken[x]; done {
			continue
		}
		x.mu.Lock()
		rec, ids := x.drain()
		var payload []byte
		var err error
		if rec != nil {
			payload, err = json.Marshal(rec)
		}
		x.mu.Unlock()
		if err != nil {
			s.restore(taken)
			return fmt.Errorf("ec2sim: encode journal record: %w", err)
		}
		taken[x] = ids
		if payload != nil {
			appendLine(&buf, payload)
		}
	}
	if buf.Len() == 0 {
		return nil
	}
	if err := s.appendJournal(buf.Bytes()); err != nil {
		s.restore(taken)
		return err
	}
	if s.journal.journalBytes > max(s.journal.compactMin, 2*s.journal.snapshotBytes) {
		// The change is in the journal already; a failed compaction only
		// postpones the next one.
		_ = s.compact()
	}
	return nil
}

// drain builds the record of the world's pending changes and clears them.
// The caller holds the world's lock.
func (w *world) drain() (*journalRecord, []string) {
	if len(w.dirty) == 0 {
		return nil, nil
	}
	rec := &journalRecord{Account: w.Account, Region: w.Region, DefaultVPC: w.DefaultVPC}
	ids := make([]string, 0, len(w.dirty))
	for id := range w.dirty {
		ids = append(ids, id)
		if k, ok := strings.CutPrefix(id, assocPrefix); ok {
			if rec.Associations == nil {
				rec.Associations = map[string]*association{}
			}
			rec.Associations[k] = w.Associations[k]
			continue
		}
		switch {
		case isResourceID(id, "sgr-"):
			if rec.Rules == nil {
				rec.Rules = map[string]*rule{}
			}
			rec.Rules[id] = w.Rules[id]
		case isResourceID(id, "sg-"):
			if rec.Groups == nil {
				rec.Groups = map[string]*group{}
			}
			rec.Groups[id] = w.Groups[id]
		case isResourceID(id, "pcx-"):
			if rec.Peerings == nil {
				rec.Peerings = map[string]*peering{}
			}
			rec.Peerings[id] = w.Peerings[id]
		case isResourceID(id, "pl-"):
			if rec.PrefixLists == nil {
				rec.PrefixLists = map[string]*prefixList{}
			}
			rec.PrefixLists[id] = w.PrefixLists[id]
		case isResourceID(id, "vpc-"):
			if rec.VPCs == nil {
				rec.VPCs = map[string]*vpc{}
			}
			rec.VPCs[id] = w.VPCs[id]
		}
	}
	w.dirty = nil
	return rec, ids
}

// restore marks drained changes pending again after a failed write, so the
// next save writes them.
func (s *Sim) restore(taken map[*world][]string) {
	for w, ids := range taken {
		w.mu.Lock()
		for _, id := range ids {
			w.touch(id)
		}
		w.mu.Unlock()
	}
}

// appendJournal appends whole records. The journal is opened without
// O_CREATE: a journal that vanished must not be silently restarted without
// its header.
func (s *Sim) appendJournal(b []byte) error {
	f, err := os.OpenFile(s.journalPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("ec2sim: append to journal: %w", err)
	}
	_, err = f.Write(b)
	if err != nil {
		// A short write (a full disk) would leave part of a record, and
		// the retry would put whole records after it, which load takes
		// for corruption: cut the journal back to its last whole record.
		_ = f.Truncate(s.journal.journalBytes)
	}
	if err == nil && s.opts.SyncJournal {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ec2sim: append to journal: %w", err)
	}
	s.journal.journalBytes += int64(len(b))
	return nil
}

// compact writes a snapshot of the next generation and restarts the journal
// for it. The caller holds saveMu.
func (s *Sim) compact() error {
	gen := s.journal.generation + 1
	b, err := s.snapshot(gen)
	if err != nil {
		return err
	}
	if err := writeAtomic(s.opts.StateFile, b); err != nil {
		return err
	}
	s.journal.generation = gen
	s.journal.snapshotBytes = int64(len(b))
	s.journal.broken = true
	if err := s.resetJournal(); err != nil {
		return err
	}
	s.journal.broken = false
	return nil
}

// resetJournal replaces the journal by an empty one for the current
// generation.
func (s *Sim) resetJournal() error {
	h, err := json.Marshal(journalHeader{Journal: journalVersion, Generation: s.journal.generation})
	if err != nil {
		return fmt.Errorf("ec2sim: encode journal header: %w", err)
	}
	var buf bytes.Buffer
	appendLine(&buf, h)
	if err := writeAtomic(s.journalPath(), buf.Bytes()); err != nil {
		return err
	}
	s.journal.journalBytes = int64(buf.Len())
	return nil
}

// writeAtomic replaces path by b: a temporary file in the same directory,
// synced, then renamed over the old one, so a crash leaves either the old
// or the new file and never a torn one.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
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
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("ec2sim: save state: %w", err)
	}
	return nil
}

// snapshot serialises every world, each under its own lock.
func (s *Sim) snapshot(gen int64) ([]byte, error) {
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
	return json.Marshal(struct {
		Version    int               `json:"version"`
		Generation int64             `json:"generation"`
		Worlds     []json.RawMessage `json:"worlds"`
	}{stateVersion, gen, parts})
}
