package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/services"
)

type opKind int

const (
	opCreate opKind = iota
	opAuthorize
	opRevoke
	opDelete
)

func (k opKind) String() string { return [...]string{"create", "authorize", "revoke", "delete"}[k] }

// plannedOp is one operation of the load: what it asks, and what became
// of it.
type plannedOp struct {
	group  *plannedGroup
	seq    int // position in its group's sequence
	kind   opKind
	egress bool
	port   int32
	cidrs  []string

	requestID string
	id        string // operation id
	accepted  time.Time
	record    *palisadev1.OperationRecord // at the end
}

// plannedGroup is one security group's sequence of operations, applied
// in order.
type plannedGroup struct {
	name string
	ops  []*plannedOp
	id   string // sg- id, once its create succeeded
}

// ruleKey names a rule of a group in the load: every authorize in a
// group uses its own port.
type ruleKey struct {
	egress bool
	port   int32
}

// plan makes groups × opsPerGroup operations: a create with one ingress
// rule, then authorizes (ingress and egress) and revokes of rules added
// before, and for one group in five a final delete.
func plan(rng *rand.Rand, groups, opsPerGroup int) []*plannedGroup {
	var out []*plannedGroup
	run := uuid.NewString()[:8]
	for g := range groups {
		pg := &plannedGroup{name: fmt.Sprintf("chaos-%s-%03d", run, g)}
		present := map[ruleKey][]string{}
		var keys []ruleKey
		add := func(op *plannedOp) {
			op.group, op.seq = pg, len(pg.ops)
			op.requestID, op.id = newRequest()
			pg.ops = append(pg.ops, op)
		}
		first := &plannedOp{kind: opCreate, port: 1000, cidrs: []string{"10.0.0.0/8"}}
		add(first)
		present[ruleKey{false, 1000}] = first.cidrs
		keys = append(keys, ruleKey{false, 1000})
		deleted := g%5 == 4
		for k := 1; k < opsPerGroup; k++ {
			if deleted && k == opsPerGroup-1 {
				add(&plannedOp{kind: opDelete})
				break
			}
			if len(keys) > 0 && rng.Float64() < 0.35 {
				i := rng.IntN(len(keys))
				key := keys[i]
				keys = append(keys[:i], keys[i+1:]...)
				add(&plannedOp{kind: opRevoke, egress: key.egress, port: key.port, cidrs: present[key]})
				delete(present, key)
				continue
			}
			op := &plannedOp{kind: opAuthorize, egress: rng.Float64() < 0.3, port: int32(1000 + k)}
			for c := range 1 + rng.IntN(2) {
				op.cidrs = append(op.cidrs, fmt.Sprintf("10.%d.%d.0/24", k, c))
			}
			add(op)
			key := ruleKey{op.egress, op.port}
			present[key] = op.cidrs
			keys = append(keys, key)
		}
		out = append(out, pg)
	}
	return out
}

// expectedRules is the group's rules after its operations ran in order.
func (g *plannedGroup) expectedRules() map[ruleKey][]string {
	rules := map[ruleKey][]string{}
	for _, op := range g.ops {
		switch op.kind {
		case opCreate, opAuthorize:
			rules[ruleKey{op.egress, op.port}] = op.cidrs
		case opRevoke:
			delete(rules, ruleKey{op.egress, op.port})
		case opDelete:
			return nil
		}
	}
	return rules
}

func (g *plannedGroup) deleted() bool { return g.ops[len(g.ops)-1].kind == opDelete }

func perms(port int32, cidrs []string) []*palisadev1.IpPermission {
	p := &palisadev1.IpPermission{IpProtocol: "tcp", FromPort: &port, ToPort: &port}
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, &palisadev1.IpRange{CidrIp: c})
	}
	return []*palisadev1.IpPermission{p}
}

// loadStats are what the load saw of the API.
type loadStats struct {
	accepted    atomic.Int64
	unavailable atomic.Int64 // UNAVAILABLE answers (each retried)
	// slowestRefusal is the longest an UNAVAILABLE answer took.
	slowestRefusal atomic.Int64
	errs           chan error
}

// run submits every group's operations: the create, waiting for its
// group id, then the rest back to back without waiting, so a group's
// commands queue behind each other. Groups run in parallel.
func (s *stack) run(groups []*plannedGroup, st *loadStats) {
	st.errs = make(chan error, len(groups))
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.runGroup(g, st); err != nil {
				st.errs <- fmt.Errorf("group %s: %w", g.name, err)
			}
		}()
	}
	wg.Wait()
	close(st.errs)
}

func (s *stack) runGroup(g *plannedGroup, st *loadStats) error {
	for _, op := range g.ops {
		if err := s.submit(op, st); err != nil {
			return err
		}
		if op.kind == opCreate {
			rec, err := s.awaitEnd(op.id, 5*time.Minute)
			if err != nil {
				return err
			}
			if rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
				return fmt.Errorf("create ended %v: %v", rec.GetMetadata().GetState(), rec.GetError())
			}
			g.id = rec.GetResult().GetGroupId()
		}
	}
	return nil
}

// submit sends op until the API accepts it, retrying UNAVAILABLE with the
// same request_id as a client should.
func (s *stack) submit(op *plannedOp, st *loadStats) error {
	for {
		start := time.Now()
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		res, err := s.call(ctx, op)
		cancel()
		if err == nil {
			if res.GetName() != operations.Name(op.id) {
				return fmt.Errorf("op %d: accepted as %s, want %s", op.seq, res.GetName(), operations.Name(op.id))
			}
			op.accepted = time.Now()
			st.accepted.Add(1)
			return nil
		}
		if status.Code(err) != codes.Unavailable {
			// DEADLINE_EXCEEDED is an API that did not answer in 30 s:
			// a broken promise of a prompt answer, not a retry signal.
			return fmt.Errorf("op %d (%v): %w", op.seq, op.kind, err)
		}
		st.unavailable.Add(1)
		took := int64(time.Since(start))
		for {
			old := st.slowestRefusal.Load()
			if took <= old || st.slowestRefusal.CompareAndSwap(old, took) {
				break
			}
		}
		select {
		case <-s.ctx.Done():
			return s.ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *stack) call(ctx context.Context, op *plannedOp) (*longrunningpb.Operation, error) {
	g := op.group
	switch op.kind {
	case opCreate:
		return s.api.CreateSecurityGroup(ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: g.name,
			Description: "chaos", IpPermissions: perms(op.port, op.cidrs), RequestId: op.requestID})
	case opAuthorize:
		if op.egress {
			return s.api.AuthorizeSecurityGroupEgress(ctx, &palisadev1.AuthorizeSecurityGroupEgressRequest{Location: loc, GroupId: g.id,
				IpPermissions: perms(op.port, op.cidrs), RequestId: op.requestID})
		}
		return s.api.AuthorizeSecurityGroupIngress(ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: g.id,
			IpPermissions: perms(op.port, op.cidrs), RequestId: op.requestID})
	case opRevoke:
		if op.egress {
			return s.api.RevokeSecurityGroupEgress(ctx, &palisadev1.RevokeSecurityGroupEgressRequest{Location: loc, GroupId: g.id,
				IpPermissions: perms(op.port, op.cidrs), RequestId: op.requestID})
		}
		return s.api.RevokeSecurityGroupIngress(ctx, &palisadev1.RevokeSecurityGroupIngressRequest{Location: loc, GroupId: g.id,
			IpPermissions: perms(op.port, op.cidrs), RequestId: op.requestID})
	case opDelete:
		return s.api.DeleteSecurityGroup(ctx, &palisadev1.DeleteSecurityGroupRequest{Location: loc, GroupId: g.id, RequestId: op.requestID})
	}
	return nil, fmt.Errorf("unknown kind %v", op.kind)
}

// awaitEnd polls the operation's record until it is terminal. Reads fail
// while NATS is away; they are retried.
func (s *stack) awaitEnd(id string, limit time.Duration) (*palisadev1.OperationRecord, error) {
	deadline := time.Now().Add(limit)
	var last *palisadev1.OperationRecord
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		rec, _, err := s.store.Get(ctx, id)
		cancel()
		if err == nil {
			last = rec
			if operations.Terminal(rec.GetMetadata().GetState()) {
				return rec, nil
			}
		}
		lastErr = err
		select {
		case <-s.ctx.Done():
			return nil, s.ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if lastErr != nil {
		return nil, fmt.Errorf("operation %s not ended after %v (last %v, then %w)", id, limit, last.GetMetadata().GetState(), lastErr)
	}
	return nil, fmt.Errorf("operation %s not ended after %v (last %v)", id, limit, last.GetMetadata().GetState())
}

// awaitAll waits for every accepted operation to end and keeps its
// record. It returns the operations that did not end (lost).
func (s *stack) awaitAll(groups []*plannedGroup, limit time.Duration) []*plannedOp {
	var mu sync.Mutex
	var lost []*plannedOp
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, g := range groups {
		for _, op := range g.ops {
			if op.accepted.IsZero() {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				rec, err := s.awaitEnd(op.id, limit)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					lost = append(lost, op)
					return
				}
				op.record = rec
			}()
		}
	}
	wg.Wait()
	sort.Slice(lost, func(i, j int) bool { return lost[i].id < lost[j].id })
	return lost
}

func countOps(groups []*plannedGroup) int {
	n := 0
	for _, g := range groups {
		n += len(g.ops)
	}
	return n
}

// newRequest returns a fresh request_id and the operation id it gets.
func newRequest() (requestID, operationID string) {
	requestID = uuid.NewString()
	return requestID, command.OperationID(services.LocalCaller, requestID)
}

// submitAndWait submits op (a fresh request) and waits for its end.
func (s *stack) submitAndWait(op *plannedOp) *palisadev1.OperationRecord {
	s.t.Helper()
	op.requestID, op.id = newRequest()
	var st loadStats
	if err := s.submit(op, &st); err != nil {
		s.t.Fatal(err)
	}
	rec, err := s.awaitEnd(op.id, 2*time.Minute)
	if err != nil {
		s.t.Fatal(err)
	}
	return rec
}
