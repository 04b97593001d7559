// Package chaos proves Palisade's invariants under faults: worker
// processes killed at random points (the one driving a rollout among
// them), the NATS server restarted, EC2 faults, throttling and eventual
// consistency, poison commands, a JetStream cluster losing nodes,
// graceful shutdown and hung EC2 calls.
//
// NATS runs as in production: a user per role authenticating by nkey,
// with its role's permissions, over TLS with client certificates; one node
// as `palisade serve` embeds it, the cluster from the shipped
// deploy/nats/nats-server.conf. Every part connects as its role, and a
// permission the server refuses any of them fails the scenario.
//
// Every scenario is a Go test; a short version of each runs with the rest
// of the tests, and `make chaos` runs them all at full size, printing one
// line of figures per scenario (lines starting "chaos ") and failing when
// an invariant broke. The checks are invariants over what EC2 (the local
// endpoint) and JetStream hold at the end, never timings: durations are
// measured and reported.
package chaos
