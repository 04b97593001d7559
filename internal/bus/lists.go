package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Lists are append-only lists of short entries (an id each) with dense
// positions 1, 2, 3…: the operation and rollout indexes. A counter of
// IndexCountStream hands out a list's positions; entry n of list L is the
// one message on the subject <prefix>.<L>.<n> of the entry stream. So
// reading positions n…n+k of one list is k lookups by subject, whatever
// else the streams hold, where a stream filtered by a subject would walk
// every message in between: a page of a narrow list costs the same with
// a long history of other lists as without.
type Lists struct {
	js             jetstream.JetStream
	stream, prefix string
	positions      *positions
}

// NewLists binds to the lists of an entry stream whose subjects are
// prefix.<list key>.<position>.
func NewLists(js jetstream.JetStream, stream, prefix string) *Lists {
	l := &Lists{js: js, stream: stream, prefix: prefix}
	l.positions = newPositions(l.increment, LinkOf(js.Conn()))
	return l
}

// ListKey names one list: a hash of what it lists (index, scope, field,
// value), one subject token, which also keeps callers' identities and
// group ids out of subject names.
func ListKey(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// ListEntry is one entry of a list and its position.
type ListEntry struct {
	Pos  uint64
	Body []byte
}

// listLookups bounds the subjects of one lookup request; the server
// answers at most 1024.
const listLookups = 256

// Append adds body at the end of each list in keys. A list's position is
// taken first (with the positions of other appends to it at the same
// time, see positions), then its entry written with the message id
// <list key>.<msgID>: a repeat within the stream's de-duplication window
// (a retried create, a worker writing what the API did not) leaves an
// unused position, which readers skip, rather than a second entry.
//
// Counters are persisted asynchronously (an fsync per increment would
// double what a create costs on a node that syncs every write), so a hard
// kill of NATS may take a counter back by the increments it had not yet
// flushed, while their entries are on disk. An entry is therefore written
// only where there is none; on one taken, the counter is moved past the
// entries that follow it, and the entry goes there.
func (l *Lists) Append(ctx context.Context, keys []string, body []byte, msgID string) error {
	return forEach(keys, func(key string) error {
		for range maxRepairs {
			pos, err := l.positions.take(ctx, key)
			if err != nil {
				return err
			}
			_, err = l.js.Publish(ctx, l.subject(key, pos), body, jetstream.WithMsgID(key+"."+msgID),
				jetstream.WithExpectStream(l.stream), jetstream.WithExpectLastSequencePerSubject(0))
			var apiErr *jetstream.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
				if err != nil {
					return fmt.Errorf("write entry %d of list %s: %w", pos, key, err)
				}
				return nil
			}
			// The counter is behind its entries: move it past them.
			end, err := l.lastFrom(ctx, key, pos)
			if err != nil {
				return err
			}
			if end > pos {
				if _, err := l.increment(ctx, key, end-pos); err != nil {
					return err
				}
			}
		}
		return fmt.Errorf("write an entry of list %s: its counter stays behind its entries", key)
	})
}

// maxRepairs bounds the tries of one Append to one list, each moving its
// counter past entries it had lost track of.
const maxRepairs = 5

// increment adds by to the counter of list key and returns its new value.
func (l *Lists) increment(ctx context.Context, key string, by uint64) (uint64, error) {
	// JetStream refuses an increment with an expected stream.
	ack, err := l.js.PublishMsg(ctx, &nats.Msg{Subject: countSubject(key),
		Header: nats.Header{"Nats-Incr": []string{strconv.FormatUint(by, 10)}}})
	if err != nil {
		return 0, fmt.Errorf("take a position of list %s: %w", key, err)
	}
	pos, err := strconv.ParseUint(ack.Value, 10, 64)
	if err != nil || pos < by {
		return 0, fmt.Errorf("take a position of list %s: counter answered %q", key, ack.Value)
	}
	return pos, nil
}

// lastFrom returns the last position with an entry in the run of taken
// positions that starts at from.
func (l *Lists) lastFrom(ctx context.Context, key string, from uint64) (uint64, error) {
	last := from
	for {
		e, err := l.Read(ctx, key, last+1, last+listLookups)
		if err != nil {
			return 0, err
		}
		if len(e) == 0 {
			return last, nil
		}
		last = e[len(e)-1].Pos
	}
}

// ListRef is one list: the Lists it is in and its key.
type ListRef struct {
	In  *Lists
	Key string
}

// AppendEach adds body at the end of each list of refs, all at once, as
// Append does.
func AppendEach(ctx context.Context, refs []ListRef, body []byte, msgID string) error {
	return forEach(refs, func(r ListRef) error { return r.In.Append(ctx, []string{r.Key}, body, msgID) })
}

// forEach runs f for every item at once and returns their errors.
func forEach[T any](items []T, f func(T) error) error {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() { errs[i] = f(it) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Lengths returns the last position handed out in each list (0 for a
// list never written to), in one request.
func (l *Lists) Lengths(ctx context.Context, keys []string) (map[string]uint64, error) {
	subjects := make([]string, len(keys))
	for i, k := range keys {
		subjects[i] = countSubject(k)
	}
	msgs, err := lastOfEach(ctx, l.js.Conn(), IndexCountStream, subjects)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(keys))
	for i, k := range keys {
		data, ok := msgs[subjects[i]]
		if !ok {
			continue
		}
		var v struct {
			Val string `json:"val"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("read length of list %s: %w", k, err)
		}
		n, err := strconv.ParseUint(v.Val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read length of list %s: %q", k, v.Val)
		}
		out[k] = n
	}
	return out, nil
}

// Read returns the entries of list key at positions from…to, in order;
// positions without an entry (expired, or never written) are left out.
func (l *Lists) Read(ctx context.Context, key string, from, to uint64) ([]ListEntry, error) {
	var out []ListEntry
	for from <= to {
		end := min(to, from+listLookups-1)
		subjects := make([]string, 0, end-from+1)
		for p := from; p <= end; p++ {
			subjects = append(subjects, l.subject(key, p))
		}
		msgs, err := lastOfEach(ctx, l.js.Conn(), l.stream, subjects)
		if err != nil {
			return nil, err
		}
		for i, s := range subjects {
			if body, ok := msgs[s]; ok {
				out = append(out, ListEntry{Pos: from + uint64(i), Body: body})
			}
		}
		from = end + 1
	}
	return out, nil
}

// lagSlack is how many positions past its counter a list is read: more
// than a counter can lose in a crash, the increments of a few
// milliseconds to one list.
const lagSlack = 16

// liveProbe is how many positions FirstLive looks at in one request: a
// run of unused positions that long is taken for expired ones.
const liveProbe = 32

// FirstLive finds, among positions from…to, where the list's live
// entries begin, by bisection in O(log(to-from)) requests. Entries
// expire oldest first, so the expired ones are a prefix; a position left
// unused is a rare single gap, which the probe's width steps over. It
// returns false when no entry in the range is left.
func (l *Lists) FirstLive(ctx context.Context, key string, from, to uint64) (uint64, bool, error) {
	live := func(p uint64) (bool, error) {
		e, err := l.Read(ctx, key, p, min(to, p+liveProbe-1))
		return len(e) > 0, err
	}
	if from > to {
		return 0, false, nil
	}
	// Probes start at from + k·liveProbe; find the first live one.
	lo, hi := uint64(0), (to-from)/liveProbe+1 // probes [lo, hi) unknown, hi past the end
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := live(from + mid*liveProbe)
		if err != nil {
			return 0, false, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if p := from + lo*liveProbe; p <= to {
		return p, true, nil
	}
	return 0, false, nil
}

// PageOf reads one page of list key, which holds n positions: from
// position from on, the ids of the entries are looked up with fetch
// (which answers nil for an id whose value is gone) a few at a time, and
// those keep holds for are returned, up to size, each id once. At most
// maxScan positions are read. It returns the position the next page
// starts from, 0 when the list has been read to n. If from has expired,
// reading starts where the live entries begin (FirstLive).
func PageOf[T any](ctx context.Context, l *Lists, key string, n, from uint64, size, maxScan int,
	fetch func(ctx context.Context, ids []string) ([]*T, error), keep func(*T) bool) ([]*T, uint64, error) {
	from = max(from, 1)
	// Entries a counter lost track of in a crash (see Append) are read
	// too, until the next entry moves the counter past them.
	counted := n
	n += lagSlack
	var out []*T
	seen := map[string]bool{}
	limit := min(n, from+uint64(maxScan)-1)
	// Read as many positions as the page still needs, and twice as many
	// each time the records keep fewer: a page of a list whose entries
	// all match reads little more than its own entries.
	chunk := uint64(size)
	for p, searched := from, false; p <= limit; chunk = min(2*chunk, listLookups) {
		end := min(limit, p+max(chunk, uint64(size-len(out)))-1)
		entries, err := l.Read(ctx, key, p, end)
		if err != nil {
			return nil, 0, err
		}
		if len(entries) == 0 && !searched {
			searched = true
			// Only the counted positions are searched: the slack past them
			// is empty but for a crash, and would break the bisection's
			// expired-first order. It is read as it is.
			live, ok, err := l.FirstLive(ctx, key, end+1, counted)
			if err != nil {
				return nil, 0, err
			}
			if !ok {
				live = max(end+1, counted+1)
			}
			p, limit = live, min(n, live+uint64(maxScan)-1)
			continue
		}
		searched = true
		var filled int
		if out, filled, err = takeEntries(ctx, entries, seen, size, out, fetch, keep); err != nil {
			return nil, 0, err
		}
		if filled >= 0 {
			next := entries[filled].Pos + 1
			if next > counted {
				// Only the slack is left: a next page only if it holds
				// entries, not an empty last page.
				rest, err := l.Read(ctx, key, next, n)
				if err != nil {
					return nil, 0, err
				}
				if len(rest) == 0 {
					return out, 0, nil
				}
			}
			return out, next, nil
		}
		p = end + 1
	}
	if limit >= n {
		return out, 0, nil
	}
	return out, limit + 1, nil
}

// ReadAll returns up to n entries of the entry stream, of whichever
// list, from stream sequence from on, in order, and how many follow them:
// a stream that holds each id in one of its lists once (every operation
// in its caller's list) read whole is the list of every id, with stream
// sequences as positions, at no cost to an append.
func (l *Lists) ReadAll(ctx context.Context, from uint64, n int) ([]ListEntry, uint64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
	}
	nc := l.js.Conn()
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, 0, fmt.Errorf("read stream %s: %w", l.stream, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	req, err := json.Marshal(struct {
		Seq   uint64 `json:"seq"`
		Batch int    `json:"batch"`
	}{from, n})
	if err != nil {
		return nil, 0, err
	}
	if err := nc.PublishRequest("$JS.API.DIRECT.GET."+l.stream, inbox, req); err != nil {
		return nil, 0, fmt.Errorf("read stream %s: %w", l.stream, err)
	}
	var out []ListEntry
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("read stream %s: %w", l.stream, err)
		}
		switch st := msg.Header.Get("Status"); st {
		case "":
			pos, err := strconv.ParseUint(msg.Header.Get(jetstream.SequenceHeader), 10, 64)
			if err != nil {
				return nil, 0, fmt.Errorf("read stream %s: entry without a sequence", l.stream)
			}
			out = append(out, ListEntry{Pos: pos, Body: msg.Data})
		case "204": // the end of the batch
			pending, err := strconv.ParseUint(msg.Header.Get("Nats-Num-Pending"), 10, 64)
			if err != nil {
				return nil, 0, fmt.Errorf("read stream %s: %q entries left", l.stream, msg.Header.Get("Nats-Num-Pending"))
			}
			return out, pending, nil
		case "404": // nothing from there on
			return out, 0, nil
		default:
			return nil, 0, fmt.Errorf("read stream %s: %s %s", l.stream, st, msg.Header.Get("Description"))
		}
	}
}

// PageOfAll reads one page of l's entry stream read whole (ReadAll) from
// stream sequence from on, as PageOf reads a list: the ids of its entries
// are looked up with fetch a few at a time, and those keep holds for are
// returned, up to size, each id once, at most maxScan entries read. It
// returns the sequence the next page starts from, 0 at the end.
func PageOfAll[T any](ctx context.Context, l *Lists, from uint64, size, maxScan int,
	fetch func(ctx context.Context, ids []string) ([]*T, error), keep func(*T) bool) ([]*T, uint64, error) {
	var out []*T
	seen := map[string]bool{}
	// Read as many entries as the page still needs, and twice as many
	// each time the records keep fewer.
	chunk := size
	for scanned := 0; scanned < maxScan; chunk = min(2*chunk, listLookups) {
		entries, pending, err := l.ReadAll(ctx, from, min(max(chunk, size-len(out)), maxScan-scanned))
		if err != nil {
			return nil, 0, err
		}
		if len(entries) == 0 {
			return out, 0, nil
		}
		scanned += len(entries)
		var filled int
		if out, filled, err = takeEntries(ctx, entries, seen, size, out, fetch, keep); err != nil {
			return nil, 0, err
		}
		if filled >= 0 {
			if filled == len(entries)-1 && pending == 0 {
				return out, 0, nil // the list's last entry: no empty page after it
			}
			return out, entries[filled].Pos + 1, nil
		}
		if pending == 0 {
			return out, 0, nil
		}
		from = entries[len(entries)-1].Pos + 1
	}
	return out, from, nil
}

// takeEntries looks the ids of entries not seen before up with fetch, no
// more at a time than the page still needs (most often every candidate
// is kept, and the rest would be read for nothing), and appends those
// keep holds for to out until it holds size. It returns out and the index
// in entries of the entry that filled it, or -1 if it is not full.
func takeEntries[T any](ctx context.Context, entries []ListEntry, seen map[string]bool, size int, out []*T,
	fetch func(ctx context.Context, ids []string) ([]*T, error), keep func(*T) bool) ([]*T, int, error) {
	for i := 0; i < len(entries); {
		var ids []string
		var at []int
		for ; i < len(entries) && len(ids) < size-len(out); i++ {
			id := string(entries[i].Body)
			if seen[id] {
				continue // indexed again after the de-duplication window
			}
			seen[id] = true
			ids, at = append(ids, id), append(at, i)
		}
		if len(ids) == 0 {
			break
		}
		vals, err := fetch(ctx, ids)
		if err != nil {
			return nil, -1, err
		}
		for j, v := range vals {
			if v == nil || (keep != nil && !keep(v)) {
				continue
			}
			out = append(out, v)
			if len(out) == size {
				return out, at[j], nil
			}
		}
	}
	return out, -1, nil
}

// fetchAtOnce bounds the values FetchEach looks up at once.
const fetchAtOnce = 16

// FetchEach looks the values of ids up with get, a few at once, in the
// order of ids; get answers nil, nil for a value that is gone. It is the
// fetch of PageOf for a KeyValue bucket: one read per id, whatever else
// the bucket holds.
func FetchEach[T any](ctx context.Context, ids []string, get func(context.Context, string) (*T, error)) ([]*T, error) {
	out := make([]*T, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, fetchAtOnce)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = get(ctx, id)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (l *Lists) subject(key string, pos uint64) string {
	return l.prefix + "." + key + "." + strconv.FormatUint(pos, 10)
}

func countSubject(key string) string { return IndexCountSubjectPrefix + "." + key }

// lookupTimeout bounds a lookup whose context has no deadline: its
// answers come to an inbox, and one that never comes must not hold the
// caller for ever.
const lookupTimeout = 10 * time.Second

// lastOfEach returns the body of the last message on each of subjects
// that has one, by subject, in one batched direct get (JetStream's
// multi_last). Each subject is looked up in the stream's subject index,
// never by walking messages.
func lastOfEach(ctx context.Context, nc *nats.Conn, stream string, subjects []string) (map[string][]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
	}
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	req, err := json.Marshal(struct {
		MultiLast []string `json:"multi_last"`
		Batch     int      `json:"batch"`
	}{subjects, len(subjects)})
	if err != nil {
		return nil, err
	}
	if err := nc.PublishRequest("$JS.API.DIRECT.GET."+stream, inbox, req); err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	out := make(map[string][]byte, len(subjects))
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("read stream %s: %w", stream, err)
		}
		switch st := msg.Header.Get("Status"); st {
		case "":
			out[msg.Header.Get(jetstream.SubjectHeader)] = msg.Data
		case "204", "404": // the end of the batch; no message at all
			return out, nil
		default:
			return nil, fmt.Errorf("read stream %s: %s %s", stream, st, msg.Header.Get("Description"))
		}
	}
}
