package bus

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// auditUpdateWait bounds the wait for an update of the audit stream:
// NATS does not answer a request on a subject the client may not
// publish to.
const auditUpdateWait = 5 * time.Second

// declareAuditStream creates the audit stream when it is missing and
// leaves it alone when it is as declared. Changing it (its retention,
// say) is for RoleBreakGlass only, as RoleAdmin may not publish to
// $JS.API.STREAM.UPDATE of it: when it differs, the update is tried, and
// its failure explains that.
func declareAuditStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	var s jetstream.Stream
	err := retryStreamNotFound(ctx, func(ctx context.Context) error {
		var err error
		s, err = js.Stream(ctx, cfg.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			s, err = js.CreateStream(ctx, cfg)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				s, err = js.Stream(ctx, cfg.Name)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("declare stream %s: %w", cfg.Name, err)
	}
	have := s.CachedInfo().Config
	want := have
	want.Description, want.Subjects, want.Retention, want.Storage = cfg.Description, cfg.Subjects, cfg.Retention, cfg.Storage
	want.Replicas, want.MaxAge, want.DenyDelete, want.DenyPurge = cfg.Replicas, cfg.MaxAge, cfg.DenyDelete, cfg.DenyPurge
	want.Discard, want.Duplicates, want.AllowDirect = cfg.Discard, cfg.Duplicates, cfg.AllowDirect
	if reflect.DeepEqual(have, want) {
		return nil
	}
	uctx, cancel := context.WithTimeout(ctx, auditUpdateWait)
	defer cancel()
	if _, err := js.UpdateStream(uctx, want); err != nil {
		return fmt.Errorf("declare stream %s: it differs from its declaration, and only a break-glass administrator (NATS role %q) may change it: %w",
			cfg.Name, RoleBreakGlass, err)
	}
	return nil
}
