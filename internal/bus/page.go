package bus

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrSkip, returned by a Page getter, leaves a key out of the page (the
// value expired or was deleted since the keys were listed).
var ErrSkip = errors.New("skip key")

// Page returns up to size values of the bucket's keys that sort after
// token, for which want(key) holds, read with get and kept by keep, plus
// the token of the next page ("" at the end). Keys are paged in order, so
// a token is simply the last key of the page before (AIP-158).
func Page[T any](ctx context.Context, kv jetstream.KeyValue, size int, token string,
	want func(key string) bool, get func(context.Context, string) (T, error), keep func(T) bool) ([]T, string, error) {
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", kv.Bucket(), err)
	}
	var keys []string
	for k := range lister.Keys() {
		if k > token && (want == nil || want(k)) {
			keys = append(keys, k)
		}
	}
	// The key channel is drained, so the lister has already unsubscribed;
	// Stop only makes sure of it.
	_ = lister.Stop()
	sort.Strings(keys)
	var out []T
	for i, k := range keys {
		v, err := get(ctx, k)
		if errors.Is(err, ErrSkip) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		if keep != nil && !keep(v) {
			continue
		}
		out = append(out, v)
		if len(out) == size && i < len(keys)-1 {
			return out, k, nil
		}
	}
	return out, "", nil
}
