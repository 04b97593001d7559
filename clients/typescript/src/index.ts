// @palisadehq/palisade-client: the Palisade API for Node.

export * from "./client.js";
export * from "./errors.js";
export * from "../gen/palisade/v1/security_group_service_pb.js";
export * from "../gen/palisade/v1/operation_pb.js";
export * from "../gen/palisade/v1/types_pb.js";
export * from "../gen/palisade/v1/rollout_service_pb.js";
export * from "../gen/palisade/v1/audit_pb.js";
export { Code } from "@connectrpc/connect";
