import { createContextKey, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../../observability/logger.js";
import { principalKey } from "../../auth/principal.js";
import type { RpcMetrics } from "../../observability/rpcMetrics.js";
import { beginCall, callRecordKey, createCallLog, newCallRecord, protocolOf, requestIdHeader } from "../callLog.js";
import { observeStream } from "./streams.js";

/** The call's request id, for handlers that record it beyond the log (the audit trail). */
export const requestIdKey = createContextKey<string | undefined>(undefined, { description: "request id" });

/**
 * Gives every call a request id (the one the edge gave it, else the caller's `x-request-id` when
 * well-formed, else a new UUID), echoes it in the response headers, and writes one log line when
 * the call ends (see callLog.ts). Messages are never logged: they carry codes and tokens.
 */
export function requestLog(logger: Logger, metrics?: RpcMetrics): Interceptor {
  const log = createCallLog(logger, metrics);
  return (next) => async (request) => {
    const record = request.contextValues.get(callRecordKey) ?? newCallRecord(request.header.get(requestIdHeader));
    request.contextValues.set(callRecordKey, record);
    const requestId = record.requestId;
    request.contextValues.set(requestIdKey, requestId);
    const procedure = `${request.service.typeName}/${request.method.name}`;
    const protocol = protocolOf(request.header.get("content-type"));
    // Counted by the edge already when it is in front (a server); not when called in memory.
    beginCall(metrics, record, procedure, protocol);

    const finish = (error?: unknown) => log({ record, procedure, protocol, principal: request.contextValues.get(principalKey).kind }, error);

    try {
      const response = await next(request);
      response.header.set(requestIdHeader, requestId);
      if (!response.stream) {
        finish();
        return response;
      }
      return { ...response, message: observeStream(response.message, finish) };
    } catch (error) {
      finish(error);
      if (error instanceof ConnectError) error.metadata.set(requestIdHeader, requestId);
      throw error;
    }
  };
}
