import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Metadata, ServiceError } from "@grpc/grpc-js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/** A failed RPC, whatever the protocol: its status code and the ErrorInfo reason, if any. */
export interface RpcFailure {
  readonly code: Code;
  readonly reason?: string;
  readonly message: string;
}

const errorInfoTypeUrl = "type.googleapis.com/google.rpc.ErrorInfo";

/** Decodes what a Connect client or @grpc/grpc-js threw; anything else is `unknown`. */
export function toRpcFailure(error: unknown): RpcFailure {
  if (error instanceof ConnectError) {
    const reason = error.findDetails(ErrorInfoSchema)[0]?.reason;
    return { code: error.code, message: error.rawMessage, ...(reason === undefined ? {} : { reason }) };
  }
  if (isServiceError(error)) {
    const reason = grpcReason(error.metadata);
    return { code: error.code as number as Code, message: error.details, ...(reason === undefined ? {} : { reason }) };
  }
  return { code: Code.Unknown, message: error instanceof Error ? error.message : String(error) };
}

export function describeFailure(error: unknown): string {
  const failure = toRpcFailure(error);
  return `${Code[failure.code] ?? failure.code}${failure.reason === undefined ? "" : ` ${failure.reason}`}: ${failure.message}`;
}

export function isFailure(error: unknown, code: Code, reason: string): boolean {
  const failure = toRpcFailure(error);
  return failure.code === code && failure.reason === reason;
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number" && (error as Partial<ServiceError>).metadata !== undefined;
}

/** google.rpc.Status from grpc-status-details-bin: field 3 holds the details as Any messages. */
function grpcReason(metadata: Metadata): string | undefined {
  const raw = metadata.get("grpc-status-details-bin")[0];
  if (!(raw instanceof Buffer)) return undefined;
  const status = new BinaryReader(raw);
  while (status.pos < status.len) {
    const [field, wireType] = status.tag();
    if (field !== 3) {
      status.skip(wireType);
      continue;
    }
    const detail = new BinaryReader(status.bytes());
    let typeUrl = "";
    let value: Uint8Array | undefined;
    while (detail.pos < detail.len) {
      const [detailField, detailWire] = detail.tag();
      if (detailField === 1) typeUrl = detail.string();
      else if (detailField === 2) value = detail.bytes();
      else detail.skip(detailWire);
    }
    if (typeUrl === errorInfoTypeUrl && value !== undefined) return fromBinary(ErrorInfoSchema, value).reason;
  }
  return undefined;
}
