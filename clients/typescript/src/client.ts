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
  DeleteSecurityGroupRequestSchema,
  GetSecurityGroupRequestSchema,
  ListSecurityGroupsRequestSchema,
  RevokeSecurityGroupEgressRequestSchema,
  RevokeSecurityGroupIngressRequestSchema,
  SecurityGroupService,
  type ListSecurityGroupsResponse,
} from "../gen/palisade/v1/security_group_service_pb.js";
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

type Init<D extends DescMessage> = MessageInitShape<D>;

/** How often in a row a broken event stream is reopened without progress. */
const MAX_RESUMES = 3;

export class PalisadeClient {
  private readonly groups: Client<typeof SecurityGroupService>;
  private readonly ops: Client<typeof Operations>;
  private readonly events: Client<typeof OperationEventService>;
  private readonly retry: RetryOptions;

  constructor(options: ClientOptions = {}) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    const transport = options.transport ?? grpcTransport(options);
    this.groups = createClient(SecurityGroupService, transport);
    this.ops = createClient(Operations, transport);
    this.events = createClient(OperationEventService, transport);
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
  // A rollout's operation carries a Rollout instead: it stays in proto.
  if (op.metadata && anyIs(op.metadata, OperationMetadataSchema)) {
    out.metadata = anyUnpack(op.metadata, OperationMetadataSchema);
  }
  if (op.result.case === "response" && anyIs(op.result.value, OperationResultSchema)) {
    out.result = anyUnpack(op.result.value, OperationResultSchema);
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
