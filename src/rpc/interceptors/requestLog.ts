import { randomUUID } from "node:crypto";
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../../observability/logger.js";
import { principalKey } from "../../auth/principal.js";
import { ShuttingDown } from "../../errors/domainError.js";
import { observeStream } from "./streams.js";

const requestIdHeader = "x-request-id";
// A caller's id is echoed into logs, so only a plain token of sane length is taken as is.
const acceptableRequestId = /^[A-Za-z0-9._:-]{8,128}$/;

// Codes that mean the server (or what it depends on) failed, rather than the caller. A refusal
// while draining is expected and a deadline is the caller's choice: those are warnings.
const serverSide = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unavailable]);

/** The call's request id, for handlers that record it beyond the log (the audit trail). */
export const requestIdKey = createContextKey<string | undefined>(undefined, { description: "request id" });

/**
 * Gives every call a request id (the caller's `x-request-id` when well-formed, else a new UUID),
 * echoes it in the response headers, and writes one log line when the call ends: procedure,
 * outcome, duration, principal kind. Messages are never logged: they carry codes and tokens.
 */
export function requestLog(logger: Logger): Interceptor {
  return (next) => async (request) => {
    const started = performance.now();
    const offered = request.header.get(requestIdHeader);
    const requestId = offered !== null && acceptableRequestId.test(offered) ? offered : randomUUID();
    request.contextValues.set(requestIdKey, requestId);

    const finish = (error?: unknown) => {
      const principal = request.contextValues.get(principalKey);
      // The request id goes in the line rather than in a child logger per call: pino serialises a
      // child's bindings (through the redaction) when it is made, even at levels that log nothing,
      // and that was most of what this interceptor allocated.
      const fields = {
        requestId,
        procedure: `${request.service.typeName}/${request.method.name}`,
        protocol: protocolOf(request.header.get("content-type")),
        principal: principal.kind,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      };
      if (error === undefined) {
        logger.info({ ...fields, outcome: "ok" }, "rpc");
        return;
      }
      const connectError = ConnectError.from(error);
      const outcome = Code[connectError.code];
      if (serverSide.has(connectError.code) && !(connectError.cause instanceof ShuttingDown)) {
        logger.error({ ...fields, outcome, err: connectError.cause ?? connectError }, "rpc failed");
      } else {
        logger.warn({ ...fields, outcome, reason: connectError.rawMessage }, "rpc refused");
      }
    };

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

function protocolOf(contentType: string | null): string {
  if (contentType === null) return "connect";
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}
