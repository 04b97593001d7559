package bus

import (
	"fmt"
	"slices"
)

// NATS roles and what each may publish and subscribe to, declared here
// next to the streams, subjects and buckets they name so that the two
// cannot drift. Every NATS server Palisade runs on, the embedded one of
// `palisade serve` and the shipped cluster configuration in deploy/nats,
// gets its users' permissions from Permissions.
//
// Who may put a command on palisade.commands.>: the API, and the worker,
// whose rollout driver submits each rollout's child commands there. A
// worker already holds the EC2 credentials the commands are carried out
// with, so publishing commands gives it nothing it could not do directly;
// the subscriber, and anyone without credentials, may not.
//
// Nobody may delete, purge or update the audit stream, or delete its
// messages, except RoleBreakGlass (RoleAdmin declares every other stream
// and creates the audit stream, but cannot change it once it exists).
//
// A role allowed to create consumers on a stream could point a push
// consumer's deliver subject anywhere the server itself may publish
// (NATS does not check it against the creator's permissions), so only the
// API and the worker, who may publish commands anyway, create consumers,
// and only on the streams they read: the subscriber reads events by a
// plain subscription and by direct gets.

// Role is a NATS identity of one part of Palisade.
type Role string

// The roles.
const (
	// RoleAPI is the gRPC front end: it publishes commands and rollouts
	// and writes operation records, rollout control entries and audit
	// records.
	RoleAPI Role = "api"
	// RoleWorker carries out commands and drives rollouts: it consumes
	// commands, rollouts and delivery advisories, writes records, events,
	// the budget and dead letters, and publishes rollouts' commands.
	RoleWorker Role = "worker"
	// RoleSubscriber reads operation events, nothing else.
	RoleSubscriber Role = "subscriber"
	// RoleAdmin declares streams, consumers and buckets: every JetStream
	// API subject except changing, purging or deleting the audit stream
	// and deleting its messages.
	RoleAdmin Role = "admin"
	// RoleBreakGlass may publish and subscribe to everything, the audit
	// stream's changes included, for people in an emergency (and the
	// tests' own connection); no part of Palisade runs as it.
	RoleBreakGlass Role = "breakglass"
)

// Roles are every role, in a fixed order.
func Roles() []Role {
	return []Role{RoleAPI, RoleWorker, RoleSubscriber, RoleAdmin, RoleBreakGlass}
}

// Permissions are a role's publish and subscribe allow and deny lists, in
// NATS subject syntax; a deny wins over an allow.
type Permissions struct {
	PublishAllow, PublishDeny     []string
	SubscribeAllow, SubscribeDeny []string
}

// InboxPrefix is the prefix of the reply subjects of a role's
// connections (nats.CustomInboxPrefix). The API and the worker each have
// their own, so no other role can listen to the replies they get (the
// records and commands JetStream sends them); the subscriber and the
// administrators, usually the `nats` tool, keep NATS's default.
func InboxPrefix(r Role) string {
	switch r {
	case RoleAPI, RoleWorker:
		return "_INBOX_" + string(r)
	}
	return "_INBOX"
}

const jsAPI = "$JS.API."

// AuditStreamChanges are the JetStream API subjects that change, purge or
// delete the audit stream or delete its records, denied to RoleAdmin.
func AuditStreamChanges() []string {
	return []string{
		jsAPI + "STREAM.UPDATE." + AuditStream,
		jsAPI + "STREAM.DELETE." + AuditStream,
		jsAPI + "STREAM.PURGE." + AuditStream,
		jsAPI + "STREAM.MSG.DELETE." + AuditStream,
	}
}

// Permissions of role r.
func (r Role) Permissions() Permissions {
	inbox := []string{InboxPrefix(r) + ".>"}
	switch r {
	case RoleAPI:
		return Permissions{
			PublishAllow: join(
				[]string{jsAPI + "INFO"},
				publish(CommandSubjectPrefix+".*.*.*", CommandStream),
				publish(RolloutSubjectPrefix+".*", RolloutStream),
				publish(AuditSubjectPrefix+".>", AuditStream),
				// The API records an operation's first event itself.
				publish(EventSubjectPrefix+".>", EventStream),
				indexWrites(),
				read(EventStream), read(AuditStream),
				// ListOperations and ListRollouts look lists up.
				lookup(OperationIndexStream), lookup(OperationIndexGroupStream), lookup(OperationIndexStateStream),
				lookup(RolloutIndexStream), lookup(IndexCountStream),
				bucket(OperationsBucket), bucket(RolloutsBucket), bucket(BudgetBucket),
			),
			SubscribeAllow: inbox,
		}
	case RoleWorker:
		var consume []string
		for p := range Partitions {
			consume = append(consume, consumer(CommandStream, ConsumerName(p))...)
		}
		return Permissions{
			PublishAllow: join(
				[]string{jsAPI + "INFO"},
				consume,
				consumer(RolloutStream, RolloutConsumer),
				consumer(AdvisoryStream, AdvisoryConsumer),
				// Dead-lettering reads the command an advisory names; the
				// rollout driver's submitter looks both streams up.
				[]string{
					jsAPI + "STREAM.INFO." + CommandStream, jsAPI + "STREAM.MSG.GET." + CommandStream,
					jsAPI + "STREAM.INFO." + RolloutStream, jsAPI + "STREAM.MSG.GET." + RolloutStream,
				},
				// The rollout driver submits its child commands.
				publish(CommandSubjectPrefix+".*.*.*", CommandStream),
				publish(EventSubjectPrefix+".>", EventStream),
				publish(DeadLetterSubjectPrefix+".>", DeadLetterStream),
				// A worker that meets a command without its record writes
				// the record, and its index entries; one that ends an
				// operation indexes the state it reached; the rollout
				// driver writes a rollout's record when the API did not.
				indexWrites(),
				read(EventStream),
				bucket(OperationsBucket), bucket(RolloutsBucket), bucket(BudgetBucket),
			),
			// The rollout driver listens to its commands' events.
			SubscribeAllow: join([]string{EventSubjectPrefix + ".>"}, inbox),
		}
	case RoleSubscriber:
		return Permissions{
			PublishAllow: []string{
				jsAPI + "INFO",
				jsAPI + "STREAM.INFO." + EventStream,
				jsAPI + "DIRECT.GET." + EventStream,
				jsAPI + "DIRECT.GET." + EventStream + ".>",
			},
			SubscribeAllow: join([]string{EventSubjectPrefix + ".>"}, inbox),
		}
	case RoleAdmin:
		return Permissions{
			PublishAllow:   []string{jsAPI + ">"},
			PublishDeny:    AuditStreamChanges(),
			SubscribeAllow: inbox,
		}
	case RoleBreakGlass:
		return Permissions{PublishAllow: []string{">"}, SubscribeAllow: []string{">"}}
	}
	panic(fmt.Sprintf("bus: unknown role %q", r))
}

// publish lets a producer publish to a stream's subjects and look the
// stream up (command.Submitter checks it and reads stored messages back).
func publish(subjects, stream string) []string {
	return []string{subjects, jsAPI + "STREAM.INFO." + stream, jsAPI + "STREAM.MSG.GET." + stream}
}

// indexWrites lets a client append to the operation and rollout indexes:
// take a position from a list's counter and write the entry there. The
// acknowledgements come to its inbox; it reads nothing back.
func indexWrites() []string {
	return []string{
		OperationIndexSubjectPrefix + ".*.*.*",
		RolloutIndexSubjectPrefix + ".*.*",
		IndexCountSubjectPrefix + ".*",
	}
}

// lookup lets a client get a stream's messages by subject, batched
// (Lists), and nothing else of it.
func lookup(stream string) []string {
	return []string{jsAPI + "DIRECT.GET." + stream}
}

// consumer lets a worker pull from, heartbeat and acknowledge one durable
// consumer, but neither create nor change it.
func consumer(stream, name string) []string {
	return []string{
		jsAPI + "CONSUMER.INFO." + stream + "." + name,
		jsAPI + "CONSUMER.MSG.NEXT." + stream + "." + name,
		"$JS.ACK." + stream + "." + name + ".>",
	}
}

// read lets a client read a stream through ordered (ephemeral) consumers
// and watchers
// and get messages from it.
func read(stream string) []string {
	return []string{
		jsAPI + "STREAM.INFO." + stream,
		jsAPI + "STREAM.MSG.GET." + stream,
		jsAPI + "DIRECT.GET." + stream,
		jsAPI + "DIRECT.GET." + stream + ".>",
		jsAPI + "CONSUMER.CREATE." + stream + ".>",
		jsAPI + "CONSUMER.DELETE." + stream + ".>",
		jsAPI + "CONSUMER.INFO." + stream + ".>",
		jsAPI + "CONSUMER.MSG.NEXT." + stream + ".>",
		// Flow-control replies of push consumers (KeyValue watchers).
		"$JS.FC." + stream + ".>",
	}
}

// bucket lets a client read, write and watch a KeyValue bucket.
func bucket(name string) []string {
	return append(read("KV_"+name), "$KV."+name+".>")
}

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}
