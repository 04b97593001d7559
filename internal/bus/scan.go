package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrBadToken: a page token Scan did not hand out.
var ErrBadToken = errors.New("page token is not one this server handed out")

// Scan reads stream's messages on filter ("" for all) in order from the
// position token names ("" for the start), handing each to each until each
// says stop, at most max of them have been read, or the stream's end as it
// was when Scan began is reached. It returns the token to resume from (a
// stream sequence; "" when the end was reached), the AIP-158 page token of
// the lists built on it. Its cost is what it reads, not the stream's
// length: an ordered consumer starts at the token, and no fetch waits for
// messages that are not there.
func Scan(ctx context.Context, js jetstream.JetStream, stream, filter, token string, max int,
	each func(seq uint64, header nats.Header, data []byte) (stop bool, err error)) (string, error) {
	var start uint64
	if token != "" {
		n, err := strconv.ParseUint(token, 10, 64)
		if err != nil || n == 0 {
			return "", ErrBadToken
		}
		start = n
	}
	next, err := scan(ctx, js, stream, filter, start, max, each)
	if err != nil || next == 0 {
		return "", err
	}
	return strconv.FormatUint(next, 10), nil
}

// scan is Scan by sequence: it returns the sequence to resume from, 0 at
// the end.
func scan(ctx context.Context, js jetstream.JetStream, stream, filter string, start uint64, max int,
	each func(seq uint64, header nats.Header, data []byte) (stop bool, err error)) (uint64, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("open stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("read stream %s: %w", stream, err)
	}
	last := info.State.LastSeq
	start = maxUint(start, info.State.FirstSeq, 1)
	if info.State.Msgs == 0 || start > last {
		return 0, nil
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start}
	if filter != "" {
		cfg.FilterSubjects = []string{filter}
	}
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return 0, fmt.Errorf("read stream %s: %w", stream, err)
	}
	pos, read := start-1, 0
	for pos < last && read < max {
		want := int(min(uint64(256), uint64(max-read), last-pos))
		var batch jetstream.MessageBatch
		if filter == "" {
			batch, err = cons.Fetch(want, jetstream.FetchMaxWait(5*time.Second))
		} else {
			// How many of the messages up to last match is unknown: take
			// what is there rather than wait for a full batch.
			batch, err = cons.FetchNoWait(want)
		}
		if err != nil {
			return 0, fmt.Errorf("read stream %s: %w", stream, err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			read++
			md, err := msg.Metadata()
			if err != nil {
				return 0, fmt.Errorf("read stream %s: %w", stream, err)
			}
			pos = md.Sequence.Stream
			stop, err := each(pos, msg.Headers(), msg.Data())
			if err != nil {
				return 0, err
			}
			if stop {
				if pos >= last {
					return 0, nil
				}
				return pos + 1, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return 0, fmt.Errorf("read stream %s: %w", stream, err)
		}
		if n == 0 {
			return 0, nil // a filter matches nothing more up to the end
		}
	}
	if pos >= last {
		return 0, nil
	}
	return pos + 1, nil
}

func maxUint(v ...uint64) uint64 {
	m := v[0]
	for _, x := range v[1:] {
		m = max(m, x)
	}
	return m
}
