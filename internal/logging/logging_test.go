package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
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
