// The Palisade client for Node: one method per RPC, request ids generated
// when absent and kept across retries of UNAVAILABLE, operation waiting
// that returns the typed result, and errors as PalisadeError.

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { create, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { anyIs, anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Operations,
  type ListOperationsResponse,
  type Operation as OperationProto,
  ListOperationsRequestSchema,
} from "../gen/google/longrunning/operations_pb.js";
import {
  AuthorizeSecurityGroupEgressRequestSchema,
  AuthorizeSecurityGroupIngressRequestSchema,
  CreateSecurityGroupRequestSchema,
  CreateTagsRequestSchema,
  DeleteSecurityGroupRequestSchema,
  DeleteTagsRequestSchema,
  GetSecurityGroupRequestSchema,
  ListSecurityGroupRulesRequestSchema,
  ListSecurityGroupsRequestSchema,
  ModifySecurityGroupRulesRequestSchema,
  RevokeSecurityGroupEgressRequestSchema,
  RevokeSecurityGroupIngressRequestSchema,
  SearchSecurityGroupsRequestSchema,
  SecurityGroupService,
  UpdateSecurityGroupRuleDescriptionsEgressRequestSchema,
  UpdateSecurityGroupRuleDescriptionsIngressRequestSchema,
  type ListSecurityGroupRulesResponse,
  type ListSecurityGroupsResponse,
  type SearchSecurityGroupsResponse,
} from "../gen/palisade/v1/security_group_service_pb.js";
import {
  ListRolloutsRequestSchema,
  RollbackRolloutRequestSchema,
  RolloutSchema,
  RolloutService,
  RolloutState,
  StartRolloutRequestSchema,
  type ListRolloutsResponse,
  type Rollout,
  type WatchRolloutResponse,
} from "../gen/palisade/v1/rollout_service_pb.js";
import {
  AuditService,
  ListAuditRecordsRequestSchema,
  WatchAuditRecordsRequestSchema,
  type AuditRecord,
  type ListAuditRecordsResponse,
} from "../gen/palisade/v1/audit_pb.js";
import {
  OperationEventService,
  OperationMetadataSchema,
  OperationResultSchema,
  OperationState,
  type OperationEvent,
  type OperationMetadata,
  type OperationResult,
} from "../gen/palisade/v1/operation_pb.js";
import type { SecurityGroup } from "../gen/palisade/v1/types_pb.js";
import { PalisadeError } from "./errors.js";

/** Where `palisade serve` listens by default. */
export const DEFAULT_ADDRESS = "127.0.0.1:50051";

/** Backoff of retried calls: full jitter, each wait drawn in [0, min(maxMs, initialMs·2^n)]. */
export interface RetryOptions {
  /** How many times a call is sent at most, the first included; 1 turns retries off. */
  attempts: number;
  initialMs: number;
  maxMs: number;
}

/** Rides out an API replica restarting without hiding a server that is down for good. */
export const DEFAULT_RETRY: RetryOptions = { attempts: 5, initialMs: 100, maxMs: 2000 };

export interface ClientOptions {
  /** host:port of the API (default DEFAULT_ADDRESS, or $PALISADE_SERVER). */
  address?: string;
  /**
   * The files palisadectl takes: a client certificate (PEM) and key for
   * mutual TLS, and the CA that verifies the server. Any of them turns
   * TLS on; without them the client speaks plaintext, as the loopback
   * default expects.
   */
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  retry?: Partial<RetryOptions>;
  /** A transport of the caller's own, instead of one built from the options above. */
  transport?: Transport;
}

/** An operation with its metadata and result decoded. */
export interface Operation {
  name: string;
  done: boolean;
  metadata?: OperationMetadata;
  /** Set once the operation SUCCEEDED: the group's id and EC2's rule ids. */
  result?: OperationResult;
  /**
   * A rollout's operation: the rollout as it ended (or, for a
   * validateOnly start, its plan). Its metadata names the rollout.
   */
  rollout?: Rollout;
  /** Set once the operation FAILED or was CANCELLED. */
  error?: PalisadeError;
  proto: OperationProto;
}

/** The group an operation created or changed. */
export function groupId(op: Operation): string {
  return op.result?.groupId || op.metadata?.groupId || "";
}

/** Whether an operation in state s has ended. */
export function terminal(s: OperationState): boolean {
  return s === OperationState.SUCCEEDED || s === OperationState.FAILED || s === OperationState.CANCELLED;
}

/** Accepts an operation's name or its bare id. */
export function operationName(s: string): string {
  return s.startsWith("operations/") ? s : `operations/${s}`;
}

/** Accepts a rollout's name or its bare id. */
export function rolloutName(s: string): string {
  return s.startsWith("rollouts/") ? s : `rollouts/${s}`;
}

/** Whether a rollout in state s has ended. */
export function rolloutEnded(s: RolloutState): boolean {
  return s === RolloutState.SUCCEEDED || s === RolloutState.FAILED || s === RolloutState.CANCELLED;
}

type Init<D extends DescMessage> = MessageInitShape<D>;

/** How often in a row a broken event stream is reopened without progress. */
const MAX_RESUMES = 3;

export class PalisadeClient {
  private readonly groups: Client<typeof SecurityGroupService>;
  private readonly ops: Client<typeof Operations>;
  private readonly events: Client<typeof OperationEventService>;
  private readonly rollouts: Client<typeof RolloutService>;
  private readonly audit: Client<typeof AuditService>;
  private readonly retry: RetryOptions;

  constructor(options: ClientOptions = {}) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    const transport = options.transport ?? grpcTransport(options);
    this.groups = createClient(SecurityGroupService, transport);
    this.ops = createClient(Operations, transport);
    this.events = createClient(OperationEventService, transport);
    this.rollouts = createClient(RolloutService, transport);
    this.audit = createClient(AuditService, transport);
  }

  /** Creates a group, with its first rules if the request has them; wait on it for the group's id. */
  createSecurityGroup(req: Init<typeof CreateSecurityGroupRequestSchema>, signal?: AbortSignal): Promise<Operation> {
    const msg = withRequestId(CreateSecurityGroupRequestSchema, req);
    return this.submit((s) => this.groups.createSecurityGroup(msg, { signal: s }), signal);
  }

  authorizeSecurityGroupIngress(req: Init<typeof AuthorizeSecurityGroupIngressRequestSchema>, signal?: AbortSignal): Promise<Operation> {
    const msg = withRequestId(AuthorizeSecurityGroupIngressRequestSchema, req);
    return this.submit((s) => this.groups.authorizeSecurityGroupIngress(msg, { signal: s }), signal);
  }

  authorizeSecurityGroupEgress(req: Init<typeof AuthorizeSecurityGroupEgressRequestSchema>, signal?: AbortSignal): Promise<Operation> {
    const msg = withRequestId(AuthorizeSecurityGroupEgressRequestSchema, req);
    return this.submit((s) => this.groups.authorizeSecurityGroupEgress(msg, { signal: s }), signal);
  }

  revokeSecurityGroupIngress(req: Init<typeof RevokeSecurityGroupIngressRequestSchema>, signal?: AbortSignal): Promise<Operation> {
    const msg = withRequestId(RevokeSecurityGroupIngressRequestSchema, req);
    return this.submit((s) => this.groups.revokeSecurityGroupIngress(msg, { signal: s }), signal);
  }

  revokeSecurityGroupEgress(req: Init<typeof RevokeSecurityGroupEgressRequestSchema>, signal?: AbortSignal): Promise<Operation> {
    const msg = withRequestId(RevokeSecurityGroupEgressRequestSchema, req);
    return this.submit((s) => this.groups.revokeSecurityGroupEgress(msg, { signal: s }), signal);
  }

  deleteSecurityGroup(req: Init<typeof DeleteSecurityGroupRequestSchema>, signal?: AbortSignal): Promise<Operation> {
    const msg = withRequestId(DeleteSecurityGroupRequestSchema, req);
    return this.submit((s) => this.groups.deleteSecurityGroup(msg, { signal: s }), signal);
  }

  /** A group as EC2 holds it now. */
  getSecurityGroup(req: Init<typeof GetSecurityGroupRequestSchema>, signal?: AbortSignal): Promise<SecurityGroup> {
    const msg = create(GetSecurityGroupRequestSchema, req);
    return this.invoke((s) => this.groups.getSecurityGroup(msg, { signal: s }), signal);
  }

  /** One page of groups, read from EC2. */
  listSecurityGroups(req: Init<typeof ListSecurityGroupsRequestSchema>, signal?: AbortSignal): Promise<ListSecurityGroupsResponse> {
    const msg = create(ListSecurityGroupsRequestSchema, req);
    return this.invoke((s) => this.groups.listSecurityGroups(msg, { signal: s }), signal);
  }

  /** Sets tags on a group and on rules of that group (resourceIds: the group's id and sgr- ids). */
  createTags(req: Init<typeof CreateTagsRequestSchema>, signal?: AbortSignal): Promise<Operation> {
    const msg = withRequestId(CreateTagsRequestSchema, req);
    return this.submit((s) => this.groups.createTags(msg, { signal: s }), signal);
  }

  /** Removes tags from a group and from rules of that group; at least one tag must be named. */
  deleteTags(req: Init<typeof DeleteTagsRequestSchema>, signal?: AbortSignal): Promise<Operation> {
    const msg = withRequestId(DeleteTagsRequestSchema, req);
    return this.submit((s) => this.groups.deleteTags(msg, { signal: s }), signal);
  }

  /** Changes rules in place, by sgr- id: they keep their ids. */
  modifySecurityGroupRules(req: Init<typeof ModifySecurityGroupRulesRequestSchema>, signal?: AbortSignal): Promise<Operation> {
    const msg = withRequestId(ModifySecurityGroupRulesRequestSchema, req);
    return this.submit((s) => this.groups.modifySecurityGroupRules(msg, { signal: s }), signal);
  }

  /** Changes inbound rules' descriptions, the rules named by content or by sgr- id. */
  updateSecurityGroupRuleDescriptionsIngress(
    req: Init<typeof UpdateSecurityGroupRuleDescriptionsIngressRequestSchema>,
    signal?: AbortSignal,
  ): Promise<Operation> {
    const msg = withRequestId(UpdateSecurityGroupRuleDescriptionsIngressRequestSchema, req);
    return this.submit((s) => this.groups.updateSecurityGroupRuleDescriptionsIngress(msg, { signal: s }), signal);
  }

  /** Changes outbound rules' descriptions, the rules named by content or by sgr- id. */
  updateSecurityGroupRuleDescriptionsEgress(
    req: Init<typeof UpdateSecurityGroupRuleDescriptionsEgressRequestSchema>,
    signal?: AbortSignal,
  ): Promise<Operation> {
    const msg = withRequestId(UpdateSecurityGroupRuleDescriptionsEgressRequestSchema, req);
    return this.submit((s) => this.groups.updateSecurityGroupRuleDescriptionsEgress(msg, { signal: s }), signal);
  }

  /** One page of rules read from EC2, each with its sgr- id and tags. */
  listSecurityGroupRules(req: Init<typeof ListSecurityGroupRulesRequestSchema>, signal?: AbortSignal): Promise<ListSecurityGroupRulesResponse> {
    const msg = create(ListSecurityGroupRulesRequestSchema, req);
    return this.invoke((s) => this.groups.listSecurityGroupRules(msg, { signal: s }), signal);
  }

  /**
   * A fleet search: one answer per matching group (or per target that
   * could not be read, with its error), as each target is read. Opening
   * the search is retried while UNAVAILABLE; once answers have arrived, a
   * broken stream is thrown rather than asked again, which would repeat them.
   */
  searchSecurityGroups(req: Init<typeof SearchSecurityGroupsRequestSchema>, signal?: AbortSignal): AsyncGenerator<SearchSecurityGroupsResponse> {
    const msg = create(SearchSecurityGroupsRequestSchema, req);
    return this.stream((s) => this.groups.searchSecurityGroups(msg, { signal: s }), signal);
  }

  /**
   * Starts a rollout: one rule change across many groups (or, with
   * remediation, the change a fleet search derives). Wait on it for the
   * rollout as it ended, in `rollout`; with validateOnly the answer is
   * already done and `rollout.plan` is the plan.
   */
  startRollout(req: Init<typeof StartRolloutRequestSchema>, signal?: AbortSignal): Promise<Operation> {
    const msg = withRequestId(StartRolloutRequestSchema, req);
    return this.submit((s) => this.rollouts.startRollout(msg, { signal: s }), signal);
  }

  /** Undoes what an ended rollout changed, as a new rollout. */
  rollbackRollout(req: Init<typeof RollbackRolloutRequestSchema>, signal?: AbortSignal): Promise<Operation> {
    const msg = withRequestId(RollbackRolloutRequestSchema, { ...req, name: req.name ? rolloutName(req.name) : "" });
    return this.submit((s) => this.rollouts.rollbackRollout(msg, { signal: s }), signal);
  }

  /** A rollout by name ("rollouts/<id>") or bare id. */
  getRollout(name: string, signal?: AbortSignal): Promise<Rollout> {
    return this.invoke((s) => this.rollouts.getRollout({ name: rolloutName(name) }, { signal: s }), signal);
  }

  /** One page of the caller's rollouts. */
  listRollouts(req: Init<typeof ListRolloutsRequestSchema> = {}, signal?: AbortSignal): Promise<ListRolloutsResponse> {
    const msg = create(ListRolloutsRequestSchema, req);
    return this.invoke((s) => this.rollouts.listRollouts(msg, { signal: s }), signal);
  }

  /** Stops starting new groups; groups already started finish. */
  pauseRollout(name: string, signal?: AbortSignal): Promise<Rollout> {
    return this.invoke((s) => this.rollouts.pauseRollout({ name: rolloutName(name) }, { signal: s }), signal);
  }

  resumeRollout(name: string, signal?: AbortSignal): Promise<Rollout> {
    return this.invoke((s) => this.rollouts.resumeRollout({ name: rolloutName(name) }, { signal: s }), signal);
  }

  /** Cancels a rollout: groups not yet started never are; it ends CANCELLED. */
  cancelRollout(name: string, signal?: AbortSignal): Promise<Rollout> {
    return this.invoke((s) => this.rollouts.cancelRollout({ name: rolloutName(name) }, { signal: s }), signal);
  }

  /**
   * Passes a rollout's progress to onUpdate as it changes, until it ends,
   * and returns it as it ended. The server sends the rollout as it is on
   * every watch, so a broken stream is simply reopened; the failures
   * already reported are not reported again in newFailures.
   */
  async watchRollout(name: string, onUpdate?: (resp: WatchRolloutResponse) => void, signal?: AbortSignal): Promise<Rollout> {
    name = rolloutName(name);
    const reported = new Set<string>();
    let last: Rollout | undefined;
    for (let fails = 0; ; ) {
      let progressed = false;
      try {
        for await (const resp of this.rollouts.watchRollout({ name }, { signal })) {
          if (!resp.rollout) {
            continue;
          }
          progressed = true;
          last = resp.rollout;
          resp.newFailures = resp.newFailures.filter((f) => {
            const key = `${f.location?.accountId}/${f.location?.region}/${f.groupId}/${f.operation}`;
            const fresh = !reported.has(key);
            reported.add(key);
            return fresh;
          });
          onUpdate?.(resp);
          if (rolloutEnded(last.state)) {
            return last;
          }
        }
        throw new ConnectError("the rollout's stream ended before the rollout did", Code.Unavailable);
      } catch (err) {
        const e = PalisadeError.from(err, signal);
        if (!(e instanceof PalisadeError) || !e.retryable || signal?.aborted) {
          throw e;
        }
        if (progressed) {
          fails = 0;
        }
        if (++fails > MAX_RESUMES) {
          throw e;
        }
        await sleep(backoff(this.retry, fails), signal);
      }
    }
  }

  /** One page of the audit trail, oldest first; reading it is itself audited. */
  listAuditRecords(req: Init<typeof ListAuditRecordsRequestSchema> = {}, signal?: AbortSignal): Promise<ListAuditRecordsResponse> {
    const msg = create(ListAuditRecordsRequestSchema, req);
    return this.invoke((s) => this.audit.listAuditRecords(msg, { signal: s }), signal);
  }

  /**
   * Audit records as they are written, from startTime (default: now),
   * until signal aborts. Opening is retried while UNAVAILABLE; a stream
   * broken later is thrown: reopen it from the last record's time.
   */
  async *watchAuditRecords(req: Init<typeof WatchAuditRecordsRequestSchema> = {}, signal?: AbortSignal): AsyncGenerator<AuditRecord> {
    const msg = create(WatchAuditRecordsRequestSchema, req);
    for await (const resp of this.stream((s) => this.audit.watchAuditRecords(msg, { signal: s }), signal)) {
      if (resp.record) {
        yield resp.record;
      }
    }
  }

  /** An operation by name ("operations/<id>") or bare id. */
  async getOperation(name: string, signal?: AbortSignal): Promise<Operation> {
    const op = await this.invoke((s) => this.ops.getOperation({ name: operationName(name) }, { signal: s }), signal);
    return decode(op);
  }

  /** One page of the caller's operations, oldest first. */
  listOperations(req: Init<typeof ListOperationsRequestSchema>, signal?: AbortSignal): Promise<ListOperationsResponse> {
    const msg = create(ListOperationsRequestSchema, req);
    return this.invoke((s) => this.ops.listOperations(msg, { signal: s }), signal);
  }

  /** Cancels an operation no worker has started. */
  async cancelOperation(name: string, signal?: AbortSignal): Promise<void> {
    await this.invoke((s) => this.ops.cancelOperation({ name: operationName(name) }, { signal: s }), signal);
  }

  /**
   * Passes an operation's events to onEvent, oldest first and each once,
   * until the last, which it returns. The server replays the history on
   * every watch, so a broken stream is reopened and the events already
   * seen, known by their sequence, are skipped.
   */
  async watch(name: string, onEvent?: (ev: OperationEvent) => void, signal?: AbortSignal): Promise<OperationEvent> {
    name = operationName(name);
    let seen = 0;
    for (let fails = 0; ; ) {
      let progressed = false;
      try {
        for await (const resp of this.events.watchOperation({ name }, { signal })) {
          const ev = resp.event;
          if (!ev || (ev.sequence > 0 && ev.sequence <= seen)) {
            continue;
          }
          seen = ev.sequence;
          progressed = true;
          onEvent?.(ev);
          if (terminal(ev.state)) {
            return ev;
          }
        }
        throw new ConnectError("the event stream ended before the operation did", Code.Unavailable);
      } catch (err) {
        const e = PalisadeError.from(err, signal);
        if (!(e instanceof PalisadeError) || !e.retryable || signal?.aborted) {
          throw e;
        }
        if (progressed) {
          fails = 0;
        }
        if (++fails > MAX_RESUMES) {
          throw e;
        }
        await sleep(backoff(this.retry, fails), signal);
      }
    }
  }

  /**
   * Follows an operation to its end and returns it with its result.
   * An operation that ended FAILED or CANCELLED is thrown as a
   * PalisadeError carrying EC2's code (ec2Code) or Palisade's reason.
   */
  async wait(name: string, onEvent?: (ev: OperationEvent) => void, signal?: AbortSignal): Promise<Operation> {
    await this.watch(name, onEvent, signal);
    const op = await this.getOperation(name, signal);
    if (op.error) {
      throw op.error;
    }
    return op;
  }

  /**
   * The messages of a server stream, its errors as PalisadeErrors. The
   * call is opened again while it fails UNAVAILABLE before its first
   * message, never after: the server would send those messages again.
   */
  private async *stream<T>(open: (signal?: AbortSignal) => AsyncIterable<T>, signal?: AbortSignal): AsyncGenerator<T> {
    // A caller that stops iterating early cancels the call: an open
    // stream would otherwise hold the connection, and Node, open.
    const stop = new AbortController();
    const abort = () => stop.abort(signal?.reason);
    signal?.addEventListener("abort", abort, { once: true });
    try {
      for (let attempt = 1; ; attempt++) {
        let received = false;
        try {
          for await (const msg of open(stop.signal)) {
            received = true;
            yield msg;
          }
          return;
        } catch (err) {
          const e = PalisadeError.from(err, stop.signal);
          if (received || !(e instanceof PalisadeError) || !e.retryable || attempt >= this.retry.attempts || stop.signal.aborted) {
            throw e;
          }
          await sleep(Math.max(backoff(this.retry, attempt), e.retryAfterMs), stop.signal);
        }
      }
    } finally {
      signal?.removeEventListener("abort", abort);
      stop.abort();
    }
  }

  private async submit(call: (signal?: AbortSignal) => Promise<OperationProto>, signal?: AbortSignal): Promise<Operation> {
    return decode(await this.invoke(call, signal));
  }

  /** Sends one call, again while it fails UNAVAILABLE, the same request each time. */
  private async invoke<T>(call: (signal?: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(signal);
      } catch (err) {
        const e = PalisadeError.from(err, signal);
        if (!(e instanceof PalisadeError) || !e.retryable || attempt >= this.retry.attempts || signal?.aborted) {
          throw e;
        }
        await sleep(Math.max(backoff(this.retry, attempt), e.retryAfterMs), signal);
      }
    }
  }
}

/**
 * A gRPC transport over HTTP/2, in plaintext or with the TLS files.
 * Connect's gRPC protocol speaks to any gRPC server, Palisade's Go one
 * included.
 */
function grpcTransport(o: ClientOptions): Transport {
  const address = o.address ?? process.env["PALISADE_SERVER"] ?? DEFAULT_ADDRESS;
  const tls = Boolean(o.tlsCert || o.tlsKey || o.tlsCa);
  if (tls && Boolean(o.tlsCert) !== Boolean(o.tlsKey)) {
    throw new Error("tlsCert and tlsKey go together: the client certificate and its key");
  }
  const read = (what: string, path?: string) => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${what} ${path}: ${(err as Error).message}`);
    }
  };
  return createGrpcTransport({
    baseUrl: `${tls ? "https" : "http"}://${address}`,
    nodeOptions: tls ? { cert: read("tlsCert", o.tlsCert), key: read("tlsKey", o.tlsKey), ca: read("tlsCa", o.tlsCa) } : {},
  });
}

/** The message for init, with a new UUID as request id when it has none. */
function withRequestId<D extends DescMessage>(schema: D, init: Init<D>): MessageShape<D> {
  const msg = create(schema, init) as MessageShape<D> & { requestId: string };
  if (msg.requestId === "") {
    msg.requestId = randomUUID();
  }
  return msg;
}

function decode(op: OperationProto): Operation {
  const out: Operation = { name: op.name, done: op.done, proto: op };
  if (op.metadata && anyIs(op.metadata, OperationMetadataSchema)) {
    out.metadata = anyUnpack(op.metadata, OperationMetadataSchema);
  }
  if (op.result.case === "response" && anyIs(op.result.value, OperationResultSchema)) {
    out.result = anyUnpack(op.result.value, OperationResultSchema);
  }
  if (op.result.case === "response" && anyIs(op.result.value, RolloutSchema)) {
    out.rollout = anyUnpack(op.result.value, RolloutSchema);
  }
  if (op.result.case === "error") {
    out.error = PalisadeError.fromOperation(op.name, out.metadata?.state ?? OperationState.UNSPECIFIED, op.result.value);
  }
  return out;
}

function backoff(r: RetryOptions, n: number): number {
  const ceiling = Math.min(r.maxMs, r.initialMs * 2 ** Math.min(n - 1, 16));
  return Math.random() * ceiling;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", abort, { once: true });
  });
}
