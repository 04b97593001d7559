package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Scan reads stream's messages on filter ("" for all) in order from
// sequence start, handing each to each until each says stop, at most max
// of them have been read, or the stream's end as it was when Scan began is
// reached. It returns the sequence to resume from, 0 when the end was
// reached. Its cost is what it reads, not the stream's length: an ordered
// consumer starts at start and asks for no more than the stream holds, so
// no fetch waits for messages that are not there.
func Scan(ctx context.Context, js jetstream.JetStream, stream, filter string, start uint64, max int,
	each func(seq uint64, data []byte) (stop bool, err error)) (uint64, error) {
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
		// Past the last matching message nothing more arrives; bound the
		// stream's end by what the filter holds.
		if fi, err := s.Info(ctx, jetstream.WithSubjectFilter(filter)); err == nil && len(fi.State.Subjects) == 0 {
			return 0, nil
		}
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
			stop, err := each(pos, msg.Data())
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
