package chaos

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/palisadehq/palisade/internal/bus"
)

// explain logs what is known of an operation that did not end, so a
// failing run can be diagnosed from its output alone: its record and
// history, where its command is (still queued, dead-lettered or gone),
// the state of every command consumer that holds or skipped it, and the
// worker log lines that name it.
func (s *stack) explain(op *plannedOp) {
	t := s.t
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b strings.Builder
	fmt.Fprintf(&b, "operation %s (%s #%d of %s, accepted %s):\n", op.id, op.kind, op.seq, op.group.name,
		op.accepted.Format("15:04:05.000"))
	if rec, rev, err := s.store.Get(ctx, op.id); err != nil {
		fmt.Fprintf(&b, "  record: %v\n", err)
	} else {
		fmt.Fprintf(&b, "  record rev %d: %v, %d attempts\n", rev, rec.GetMetadata().GetState(), rec.GetMetadata().GetAttempts())
		for _, ev := range rec.GetHistory() {
			fmt.Fprintf(&b, "    %s %v attempt %d %q\n", ev.GetTime().AsTime().Format("15:04:05.000"), ev.GetState(), ev.GetAttempt(), ev.GetReason())
		}
	}
	for _, name := range []string{bus.CommandStream, bus.DeadLetterStream} {
		str, err := s.js.Stream(ctx, name)
		if err != nil {
			fmt.Fprintf(&b, "  stream %s: %v\n", name, err)
			continue
		}
		info, err := str.Info(ctx)
		if err != nil {
			fmt.Fprintf(&b, "  stream %s: %v\n", name, err)
			continue
		}
		st := info.State
		fmt.Fprintf(&b, "  stream %s: msgs %d, seq %d..%d, deleted %d\n", name, st.Msgs, st.FirstSeq, st.LastSeq, st.NumDeleted)
		for seq := st.FirstSeq; seq <= st.LastSeq && st.Msgs > 0; seq++ {
			m, err := str.GetMsg(ctx, seq)
			if err != nil || !bytes.Contains(m.Data, []byte(op.id)) {
				continue
			}
			fmt.Fprintf(&b, "    holds it at seq %d, subject %s, stored %s\n", seq, m.Subject, m.Time.Format("15:04:05.000"))
			if name != bus.CommandStream {
				continue
			}
			var p int
			if _, err := fmt.Sscanf(strings.TrimPrefix(m.Subject, "palisade.queue."), "%d.", &p); err != nil {
				continue
			}
			if c, err := str.Consumer(ctx, bus.ConsumerName(p)); err == nil {
				ci, err := c.Info(ctx)
				if err == nil {
					fmt.Fprintf(&b, "    consumer %s: delivered %d, ack floor %d, ack pending %d, pending %d, redelivered %d\n",
						ci.Name, ci.Delivered.Stream, ci.AckFloor.Stream, ci.NumAckPending, ci.NumPending, ci.NumRedelivered)
				}
			}
		}
	}
	for _, w := range s.workers {
		logs, _ := filepath.Glob(filepath.Join(w.logs, "*.log"))
		for _, f := range logs {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(data), "\n") {
				if strings.Contains(line, op.id) {
					fmt.Fprintf(&b, "  %s: %s\n", filepath.Base(f), line)
				}
			}
		}
	}
	t.Log(b.String())
}
