// Package logging builds Palisade's slog loggers and carries the keys that
// name what a log line is about (the operation, the caller, the group …)
// in the context, so every line logged with a …Context method under that
// context carries them, however deep the call that logs it.
//
// One set of keys names the same things everywhere: a line about an
// operation says operation_id, never "operation" or "id".
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// The keys every part logs with.
const (
	OperationID = "operation_id"
	RolloutID   = "rollout_id"
	RequestID   = "request_id"
	Caller      = "caller"
	AccountID   = "account_id"
	Region      = "region"
	GroupID     = "group_id"
	// TraceID and SpanID name the OpenTelemetry span a line was logged
	// under, so a log line leads to its trace and back.
	TraceID = "trace_id"
	SpanID  = "span_id"
)

// Formats New accepts.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// New returns a logger writing to w in format (text or json) from level
// up, adding the attributes With put in the context of each call.
func New(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case FormatText, "":
		h = slog.NewTextHandler(w, opts)
	case FormatJSON:
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want %s or %s", format, FormatText, FormatJSON)
	}
	return slog.New(contextHandler{h}), nil
}

type attrsKey struct{}

// With returns ctx carrying args (key-value pairs or slog.Attrs, as
// slog.Logger.With takes them) for every line logged under it, after
// those ctx carries already. Empty values are left out, so callers can
// pass what they know without checking.
func With(ctx context.Context, args ...any) context.Context {
	prev, _ := ctx.Value(attrsKey{}).([]slog.Attr)
	r := slog.NewRecord(time.Time{}, 0, "", 0) // only to parse args as slog does
	r.Add(args...)
	attrs := make([]slog.Attr, len(prev), len(prev)+r.NumAttrs())
	copy(attrs, prev)
	r.Attrs(func(a slog.Attr) bool {
		if !a.Value.Equal(slog.StringValue("")) {
			attrs = append(attrs, a)
		}
		return true
	})
	return context.WithValue(ctx, attrsKey{}, attrs)
}

// Attrs returns the attributes With put in ctx.
func Attrs(ctx context.Context) []slog.Attr {
	attrs, _ := ctx.Value(attrsKey{}).([]slog.Attr)
	return attrs
}

// contextHandler adds the context's attributes to each record, and the
// trace and span ids of the span the context carries, if any.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	attrs := Attrs(ctx)
	sc := trace.SpanContextFromContext(ctx)
	if len(attrs) > 0 || sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(attrs...)
	}
	if sc.IsValid() {
		r.AddAttrs(slog.String(TraceID, sc.TraceID().String()), slog.String(SpanID, sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
