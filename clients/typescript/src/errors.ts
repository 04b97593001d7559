// Errors as values a caller can inspect: every error the server answers,
// and every operation that ended FAILED or CANCELLED, is a PalisadeError
// carrying the field violations, EC2's error code and the policy decision.

import { ConnectError, Code } from "@connectrpc/connect";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { anyIs, anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Any } from "@bufbuild/protobuf/wkt";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
  RetryInfoSchema,
} from "../gen/google/rpc/error_details_pb.js";
import type { Status } from "../gen/google/rpc/status_pb.js";
import { OperationState } from "../gen/palisade/v1/operation_pb.js";

/** ErrorInfo domain of Palisade's own reasons (INVALID_REQUEST, POLICY_DENIED, …). */
export const DOMAIN_PALISADE = "palisade.dev";
/** ErrorInfo domain of an operation EC2 failed: the reason is EC2's error code. */
export const DOMAIN_EC2 = "ec2.amazonaws.com";
/** ErrorInfo reason of a call the policy denied. */
export const REASON_POLICY_DENIED = "POLICY_DENIED";

/** One bad field, named by its path in the request. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** One failed precondition (REQUEST_ID_REUSED, …). */
export interface PreconditionViolation {
  type: string;
  subject: string;
  description: string;
}

/** Which policies denied a call, and where the decision is audited. */
export interface PolicyDecision {
  policies: string[];
  version: string;
  auditId: string;
}

/** What PalisadeError is built from: a gRPC code, a message and details. */
interface Decoded {
  code: Code;
  message: string;
  details: Iterable<{ kind: "any"; any: Any } | { kind: "connect"; error: ConnectError }>;
}

export class PalisadeError extends Error {
  /** The gRPC status code. */
  readonly code: Code;
  /** The server's message, without the code. */
  readonly rawMessage: string;
  /** google.rpc.ErrorInfo: for an operation EC2 failed, domain is DOMAIN_EC2 and reason EC2's code. */
  readonly reason: string = "";
  readonly domain: string = "";
  readonly metadata: Record<string, string> = {};
  /** google.rpc.BadRequest: each invalid field, or each rule a policy denied. */
  readonly violations: FieldViolation[] = [];
  /** google.rpc.PreconditionFailure's violations. */
  readonly preconditions: PreconditionViolation[] = [];
  /** The policy decision of a denied call; undefined otherwise. */
  readonly policy?: PolicyDecision;
  /** google.rpc.RetryInfo's delay in milliseconds; 0 when not given. */
  readonly retryAfterMs: number = 0;
  /** Set when an operation ended FAILED or CANCELLED: its name and state. */
  readonly operation?: string;
  readonly state?: OperationState;

  private constructor(d: Decoded, operation?: string, state?: OperationState) {
    const head = operation
      ? `operation ${operation} ${OperationState[state ?? 0]}: ${d.message}`
      : `${Code[d.code]}: ${d.message}`;
    super(head);
    this.name = "PalisadeError";
    this.code = d.code;
    this.rawMessage = d.message;
    this.operation = operation;
    this.state = state;
    for (const item of d.details) {
      const info = unpack(item, ErrorInfoSchema);
      // An EC2 ErrorInfo says more than Palisade's own, when both are there.
      if (info && (this.reason === "" || info.domain === DOMAIN_EC2)) {
        this.reason = info.reason;
        this.domain = info.domain;
        this.metadata = { ...info.metadata };
      }
      const bad = unpack(item, BadRequestSchema);
      for (const v of bad?.fieldViolations ?? []) {
        this.violations.push({ field: v.field, description: v.description });
      }
      const pre = unpack(item, PreconditionFailureSchema);
      for (const v of pre?.violations ?? []) {
        this.preconditions.push({ type: v.type, subject: v.subject, description: v.description });
      }
      const retry = unpack(item, RetryInfoSchema);
      if (retry?.retryDelay) {
        this.retryAfterMs = Number(retry.retryDelay.seconds) * 1000 + retry.retryDelay.nanos / 1e6;
      }
    }
    if (this.reason === REASON_POLICY_DENIED && this.domain === DOMAIN_PALISADE) {
      const p = this.metadata["policies"] ?? "";
      this.policy = {
        policies: p === "" ? [] : p.split(","),
        version: this.metadata["policy_version"] ?? "",
        auditId: this.metadata["audit_id"] ?? "",
      };
    }
  }

  /** EC2's error code when EC2 failed the operation, else "". */
  get ec2Code(): string {
    return this.domain === DOMAIN_EC2 ? this.reason : "";
  }

  /** Whether the policy denied the call. */
  get denied(): boolean {
    return this.policy !== undefined;
  }

  /** Whether sending the same request again (same request id) may succeed. */
  get retryable(): boolean {
    return this.code === Code.Unavailable;
  }

  /**
   * The error a call failed with, decoded; anything not from the call is
   * returned as it is. Connect for Node reports a connection that closed
   * under a call as CANCELED, as if the caller had cancelled it: unless
   * signal (the caller's) was aborted, that is UNAVAILABLE, as gRPC's own
   * clients report it, and retried.
   */
  static from(err: unknown, signal?: AbortSignal): unknown {
    if (err instanceof PalisadeError || !(err instanceof ConnectError)) {
      return err;
    }
    const code = err.code === Code.Canceled && !signal?.aborted ? Code.Unavailable : err.code;
    return new PalisadeError({ code, message: err.rawMessage, details: [{ kind: "connect", error: err }] });
  }

  /** How an operation ended, from its google.rpc.Status. */
  static fromOperation(name: string, state: OperationState, status: Status): PalisadeError {
    return new PalisadeError(
      { code: status.code as Code, message: status.message, details: status.details.map((any) => ({ kind: "any" as const, any })) },
      name,
      state,
    );
  }
}

function unpack<Desc extends DescMessage>(
  item: { kind: "any"; any: Any } | { kind: "connect"; error: ConnectError },
  schema: Desc,
): MessageShape<Desc> | undefined {
  if (item.kind === "any") {
    return anyIs(item.any, schema) ? anyUnpack(item.any, schema) : undefined;
  }
  // ConnectError.findDetails decodes the grpc-status-details-bin trailer.
  return item.error.findDetails(schema)[0];
}
