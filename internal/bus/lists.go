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

	"github.com/nats-io/nats.go/jetstream"
)

// Lists are append-only lists of short entries (an id each), the
// operation and rollout indexes: one subject of one stream per list, list
// L on <prefix>.<L>, an entry's position its stream sequence. An append
// is one publish, with no counter to take a position from first, so an
// entry costs one write, side by side with the command it indexes.
// Reading a list from a position is one batched direct get of the next
// messages on its subject: the server finds them through its index of
// subjects per message block, skipping every block without one, and
// walks only the blocks that hold the list. So a page costs about the
// same however long the history, as long as a stream holds one kind of
// list, with one entry of each operation (a caller's, a group's).
type Lists struct {
	js             jetstream.JetStream
	stream, prefix string
}

// NewLists binds to the lists of stream, whose subjects are
// prefix.<list key>.
func NewLists(js jetstream.JetStream, stream, prefix string) *Lists {
	return &Lists{js: js, stream: stream, prefix: prefix}
}

// Append adds body at the end of list key. The message id
// <list key>.<msgID> makes a repeat within the stream's de-duplication
// window (a retried create, a worker writing what the API did not) one
// entry.
func (l *Lists) Append(ctx context.Context, key string, body []byte, msgID string) error {
	if key == "" {
		return errors.New("write an entry: no list named")
	}
	if _, err := l.js.Publish(ctx, l.prefix+"."+key, body, jetstream.WithMsgID(key+"."+msgID),
		jetstream.WithExpectStream(l.stream)); err != nil {
		return fmt.Errorf("write an entry of list %s: %w", key, err)
	}
	return nil
}

// Read returns up to n entries of list key from position from on, in
// order, and how many entries follow them. Key "" is the list of every
// entry of the stream, whatever list it is in.
func (l *Lists) Read(ctx context.Context, key string, from uint64, n int) ([]ListEntry, uint64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
	}
	nc := l.js.Conn()
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, 0, fmt.Errorf("read list %s: %w", key, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	req, err := json.Marshal(struct {
		Seq     uint64 `json:"seq"`
		NextFor string `json:"next_by_subj,omitempty"`
		Batch   int    `json:"batch"`
	}{from, l.subject(key), n})
	if err != nil {
		return nil, 0, err
	}
	if err := nc.PublishRequest("$JS.API.DIRECT.GET."+l.stream, inbox, req); err != nil {
		return nil, 0, fmt.Errorf("read list %s: %w", key, err)
	}
	var out []ListEntry
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("read list %s: %w", key, err)
		}
		switch st := msg.Header.Get("Status"); st {
		case "":
			pos, err := strconv.ParseUint(msg.Header.Get(jetstream.SequenceHeader), 10, 64)
			if err != nil {
				return nil, 0, fmt.Errorf("read list %s: entry without a sequence", key)
			}
			out = append(out, ListEntry{Pos: pos, Body: msg.Data})
		case "204": // the end of the batch
			pending, err := strconv.ParseUint(msg.Header.Get("Nats-Num-Pending"), 10, 64)
			if err != nil {
				return nil, 0, fmt.Errorf("read list %s: %q entries left", key, msg.Header.Get("Nats-Num-Pending"))
			}
			return out, pending, nil
		case "404": // nothing from there on
			return out, 0, nil
		default:
			return nil, 0, fmt.Errorf("read list %s: %s %s", key, st, msg.Header.Get("Description"))
		}
	}
}

func (l *Lists) subject(key string) string {
	if key == "" {
		return ""
	}
	return l.prefix + "." + key
}

// PageOf reads one page of list key of l from position from on:
// the ids of its entries are looked up with fetch (which answers nil for
// an id whose value is gone) a few at a time, and those keep holds for
// are returned, up to size, each id once. At most maxScan entries are
// read. It returns the position the next page starts from, 0 when the
// list has been read to its end.
func PageOf[T any](ctx context.Context, l *Lists, key string, from uint64, size, maxScan int,
	fetch func(ctx context.Context, ids []string) ([]*T, error), keep func(*T) bool) ([]*T, uint64, error) {
	var out []*T
	seen := map[string]bool{}
	// Read as many entries as the page still needs, and twice as many
	// each time the records keep fewer.
	chunk := size
	for scanned := 0; scanned < maxScan; chunk = min(2*chunk, listLookups) {
		entries, pending, err := l.Read(ctx, key, from, min(max(chunk, size-len(out)), maxScan-scanned))
		if err != nil {
			return nil, 0, err
		}
		if len(entries) == 0 {
			return out, 0, nil
		}
		scanned += len(entries)
		for i := 0; i < len(entries); {
			// Look up no more than the page still needs.
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
				return nil, 0, err
			}
			for j, v := range vals {
				if v == nil || (keep != nil && !keep(v)) {
					continue
				}
				out = append(out, v)
				if len(out) == size {
					if at[j] == len(entries)-1 && pending == 0 {
						return out, 0, nil // the list's last entry: no empty page after it
					}
					return out, entries[at[j]].Pos + 1, nil
				}
			}
		}
		if pending == 0 {
			return out, 0, nil
		}
		from = entries[len(entries)-1].Pos + 1
	}
	return out, from, nil
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

// listLookups bounds the entries of one read.
const listLookups = 256

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

// lookupTimeout bounds a lookup whose context has no deadline: its
// answers come to an inbox, and one that never comes must not hold the
// caller for ever.
const lookupTimeout = 10 * time.Second
