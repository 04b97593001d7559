package workers

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// keepClaim extends msg's ack deadline every `every` until ctx ends. A late
// ack after a redelivery would let two workers act on the same thing at
// once, so when the deadline cannot be extended the claim may be lost:
// keepClaim calls lost, and the holder stops before its next side effect.
func keepClaim(ctx context.Context, msg jetstream.Msg, every time.Duration, lost context.CancelFunc, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := msg.InProgress(); err != nil {
				log.Warn("claim lost; stopping", "subject", msg.Subject(), "error", err)
				lost()
				return
			}
		}
	}
}
