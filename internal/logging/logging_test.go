package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// TestContextAttrsReachEveryLine: what With puts in the context appears
// on lines logged under it, in JSON and text, and nowhere else.
func TestContextAttrsReachEveryLine(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, FormatJSON, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	ctx := With(context.Background(), Caller, "spiffe://example.org/deployer", RequestID, "")
	ctx = With(ctx, OperationID, "op1")
	log.With("part", "api").InfoContext(ctx, "accepted", "n", 1)
	log.Info("unrelated")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{Caller: "spiffe://example.org/deployer", OperationID: "op1", "part": "api", "n": 1.0, "msg": "accepted"} {
		if first[k] != want {
			t.Errorf("%s = %v, want %v (line %s)", k, first[k], want, lines[0])
		}
	}
	if _, ok := first[RequestID]; ok {
		t.Errorf("an empty request_id was logged: %s", lines[0])
	}
	if _, ok := second[Caller]; ok {
		t.Errorf("a line logged without the context carries its attributes: %s", lines[1])
	}

	buf.Reset()
	text, err := New(&buf, FormatText, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	text.DebugContext(ctx, "hidden")
	text.WarnContext(ctx, "shown")
	if got := buf.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "operation_id=op1") {
		t.Errorf("text: %q", got)
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "yaml", slog.LevelInfo); err == nil || !strings.Contains(err.Error(), `"yaml"`) {
		t.Errorf("New with format yaml: %v, want an error naming it", err)
	}
}

// TestTraceIDsReachTheLine: a line logged under a span names its trace
// and span; one logged outside names neither.
func TestTraceIDsReachTheLine(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, FormatJSON, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	log.InfoContext(ctx, "applied")
	log.InfoContext(context.Background(), "idle")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first[TraceID] != tid.String() || first[SpanID] != sid.String() {
		t.Errorf("line %s: want trace_id %s and span_id %s", lines[0], tid, sid)
	}
	if _, ok := second[TraceID]; ok {
		t.Errorf("line %s names a trace", lines[1])
	}
}
