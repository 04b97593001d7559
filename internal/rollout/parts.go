package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// MaxPartBytes bounds the encoded size of one plan part: a quarter of
// NATS's default 1 MB max payload, so a part fits with room to spare on
// any server that keeps the default, and one write or read stays quick.
// A single group's rules (at most 120 per direction at EC2's quotas,
// descriptions included) take well under this.
const MaxPartBytes = 256 << 10

// Parts splits the rules read from the target groups into parts of at most
// maxBytes encoded (a group larger than that gets a part of its own), in
// the order given.
func Parts(groups []*palisadev1.GroupRules, maxBytes int) []*palisadev1.RolloutPlanPart {
	var (
		parts []*palisadev1.RolloutPlanPart
		cur   *palisadev1.RolloutPlanPart
		size  int
	)
	for _, g := range groups {
		// The group's bytes as a repeated field of the part: tag, length, body.
		n := proto.Size(g)
		n += protowire.SizeTag(1) + protowire.SizeVarint(uint64(n))
		if cur == nil || (len(cur.Groups) > 0 && size+n > maxBytes) {
			cur, size = &palisadev1.RolloutPlanPart{}, 0
			parts = append(parts, cur)
		}
		cur.Groups = append(cur.Groups, g)
		size += n
	}
	return parts
}

// PutPlan stores the parts of the rules that delivery read while planning
// the rollout. Each key belongs to one delivery, so writing a part again
// (a retry) stores the same value, and parts of another delivery are never
// overwritten.
func (s *Store) PutPlan(ctx context.Context, id string, delivery uint64, parts []*palisadev1.RolloutPlanPart) error {
	for n, p := range parts {
		b, err := proto.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode rollout %s plan part %d: %w", id, n, err)
		}
		if _, err := s.kv.Put(ctx, bus.RolloutPlanPartKey(id, delivery, n), b); err != nil {
			return fmt.Errorf("store rollout %s plan part %d: %w", id, n, err)
		}
	}
	return nil
}

// PlanPart reads part n of the rules that delivery read while planning the
// rollout; ErrNotFound when it is not there.
func (s *Store) PlanPart(ctx context.Context, id string, delivery uint64, n int) (*palisadev1.RolloutPlanPart, error) {
	e, err := s.kv.Get(ctx, bus.RolloutPlanPartKey(id, delivery, n))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get rollout %s plan part %d: %w", id, n, err)
	}
	p := &palisadev1.RolloutPlanPart{}
	if err := proto.Unmarshal(e.Value(), p); err != nil {
		return nil, fmt.Errorf("decode rollout %s plan part %d: %w", id, n, err)
	}
	return p, nil
}

// DropPlan removes every plan part of the rollout, of every delivery.
// Once the rollout has ended nothing reads them: each child command
// carries its own group's rules.
func (s *Store) DropPlan(ctx context.Context, id string) error {
	keys, err := s.kv.ListKeysFiltered(ctx, bus.RolloutPlanKeys(id))
	if err != nil {
		return fmt.Errorf("list rollout %s plan parts: %w", id, err)
	}
	var names []string
	for k := range keys.Keys() {
		names = append(names, k)
	}
	_ = keys.Stop()
	for _, k := range names {
		if err := s.kv.Purge(ctx, k); err != nil {
			return fmt.Errorf("drop rollout plan part %s: %w", k, err)
		}
	}
	return nil
}
