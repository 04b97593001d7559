package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func rolloutStateName(s palisadev1.RolloutState) string {
	return strings.TrimPrefix(s.String(), "ROLLOUT_STATE_")
}

// isTerminal reports whether w is a terminal (not a pipe or a file), so
// progress can be drawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// watchRollout follows a rollout to its end: on a terminal one progress
// line redrawn in place, otherwise one line per change; failures on lines
// of their own either way. It ends with exit 0 if the rollout succeeded,
// 3 if not.
func (e *env) watchRollout(ctx context.Context, name string) error {
	stream, err := e.api.WatchRollout(ctx, &palisadev1.WatchRolloutRequest{Name: name})
	if err != nil {
		return err
	}
	tty := isTerminal(e.stdout) && !e.g.json()
	var last *palisadev1.Rollout
	lastLine := ""
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if tty {
				fmt.Fprintln(e.stdout)
			}
			return e.stoppedWaiting(ctx, name, err)
		}
		last = resp.GetRollout()
		if e.g.json() {
			if err := writeJSONLine(e.stdout, resp); err != nil {
				return err
			}
			continue
		}
		for _, f := range resp.GetNewFailures() {
			if tty {
				fmt.Fprint(e.stdout, "\r\033[K")
			}
			fmt.Fprintf(e.stdout, "FAILED %s/%s %s: %s\n", f.GetLocation().GetAccountId(), f.GetLocation().GetRegion(), f.GetGroupId(), f.GetMessage())
		}
		line := progressLine(last, tty)
		switch {
		case tty:
			fmt.Fprint(e.stdout, "\r\033[K"+line)
		case line != lastLine:
			fmt.Fprintf(e.stdout, "%s %s\n", time.Now().Format(time.TimeOnly), line)
		}
		lastLine = line
	}
	if tty {
		fmt.Fprintln(e.stdout)
	}
	if last == nil {
		return fmt.Errorf("the watch of %s ended without news", name)
	}
	if last.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
		fmt.Fprintf(e.stderr, "palisadectl: rollout %s %s: %s\n", name, rolloutStateName(last.GetState()), last.GetStateReason())
		return errReported{code: exitOpFailed}
	}
	return nil
}

// progressLine is one line of progress; with bar, a bar leads it.
func progressLine(ro *palisadev1.Rollout, bar bool) string {
	p := ro.GetProgress()
	done := p.GetSucceeded() + p.GetFailed() + p.GetCancelled()
	var b strings.Builder
	if bar {
		const width = 30
		filled := 0
		if p.GetTotalGroups() > 0 {
			filled = int(done) * width / int(p.GetTotalGroups())
		}
		b.WriteString("[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "] ")
	}
	fmt.Fprintf(&b, "%s %d/%d succeeded=%d failed=%d running=%d queued=%d", rolloutStateName(ro.GetState()), done, p.GetTotalGroups(),
		p.GetSucceeded(), p.GetFailed(), p.GetRunning(), p.GetQueued())
	if p.GetCancelled() > 0 {
		fmt.Fprintf(&b, " cancelled=%d", p.GetCancelled())
	}
	if bar || p.GetGroupsPerSecond() > 0 {
		fmt.Fprintf(&b, " %.1f groups/s", p.GetGroupsPerSecond())
	}
	if eta := p.GetEstimatedTimeRemaining(); eta != nil && done < p.GetTotalGroups() {
		fmt.Fprintf(&b, " eta %s", eta.AsDuration().Round(time.Second))
	}
	return b.String()
}

// writeRollout prints a rollout for people.
func writeRollout(w io.Writer, ro *palisadev1.Rollout) error {
	p := ro.GetProgress()
	fmt.Fprintf(w, "Name:       %s\nOperation:  %s\nState:      %s", ro.GetName(), ro.GetOperation(), rolloutStateName(ro.GetState()))
	if ro.GetStateReason() != "" {
		fmt.Fprintf(w, " (%s)", ro.GetStateReason())
	}
	fmt.Fprintf(w, "\nProgress:   %s\nCreated:    %s\nUpdated:    %s\n", progressLine(ro, false), timeText(ro.GetCreateTime()), timeText(ro.GetUpdateTime()))
	if p.GetCanarySize() > 0 {
		fmt.Fprintf(w, "Canary:     %d of %d succeeded\n", p.GetCanarySucceeded(), p.GetCanarySize())
	}
	if plan := ro.GetPlan(); plan != nil {
		if err := writePlanLocations(w, plan); err != nil {
			return err
		}
	}
	return writeFailures(w, ro.GetFailures())
}

// writePlan prints a validate_only plan: per account and region, then
// every group that would fail.
func writePlan(w io.Writer, ro *palisadev1.Rollout) error {
	plan := ro.GetPlan()
	fmt.Fprintf(w, "Groups:     %d (%d would fail)\nEC2 calls: ", plan.GetTotalGroups(), plan.GetFailingGroups())
	for _, c := range plan.GetEc2Calls() {
		fmt.Fprintf(w, " %s=%d", c.GetAction(), c.GetCalls())
	}
	fmt.Fprintf(w, "\nEstimated:  %s at EC2's default rates\n", plan.GetEstimatedDuration().AsDuration().Round(time.Second))
	if err := writePlanLocations(w, plan); err != nil {
		return err
	}
	return writeFailures(w, ro.GetFailures())
}

func writePlanLocations(w io.Writer, plan *palisadev1.RolloutPlan) error {
	fmt.Fprintln(w)
	t := newTable(w, "ACCOUNT", "REGION", "GROUPS", "FAILING", "EC2 CALLS", "ESTIMATED")
	for _, l := range plan.GetLocations() {
		calls := int32(0)
		for _, c := range l.GetEc2Calls() {
			calls += c.GetCalls()
		}
		t.row(l.GetLocation().GetAccountId(), l.GetLocation().GetRegion(), fmt.Sprint(l.GetGroups()), fmt.Sprint(l.GetFailingGroups()),
			fmt.Sprint(calls), l.GetEstimatedDuration().AsDuration().Round(time.Second).String())
	}
	return t.flush()
}

func writeFailures(w io.Writer, failures []*palisadev1.RolloutFailure) error {
	if len(failures) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "ACCOUNT", "REGION", "GROUP", "CODE", "OPERATION", "MESSAGE")
	for _, f := range failures {
		t.row(f.GetLocation().GetAccountId(), f.GetLocation().GetRegion(), f.GetGroupId(), f.GetCode(), f.GetOperation(), f.GetMessage())
	}
	return t.flush()
}
