import { randomUUID } from "node:crypto";
import { Code, ConnectError, createContextKey } from "@connectrpc/connect";
import { DomainError, ShuttingDown, StreamLifetimeReached } from "../errors/domainError.js";
import { flatLineLogger, type Logger } from "../observability/logger.js";
import type { RpcMetrics } from "../observability/rpcMetrics.js";

export const requestIdHeader = "x-request-id";
// A caller's id is echoed into logs, so only a plain token of sane length is taken as is.
const acceptableRequestId = /^[A-Za-z0-9._:-]{8,128}$/;

// Codes that mean the server (or what it depends on) failed, rather than the caller. A refusal
// while draining, and a stream ended at its lifetime, are expected; a deadline is the caller's
// choice: those are warnings.
const serverSide = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unavailable]);

/** The caller's `x-request-id` when well-formed, else a new UUID. */
export function requestIdFrom(offered: string | null | undefined): string {
  return typeof offered === "string" && acceptableRequestId.test(offered) ? offered : randomUUID();
}

/**
 * What the edge and the request log share about one call: its id, given before Connect parses
 * anything, and whether its line was written, so a call refused before the interceptors ran is
 * still logged, once.
 */
export interface CallRecord {
  readonly requestId: string;
  readonly started: number;
  logged: boolean;
  /** Whether it was counted as active (see beginCall), so its end is counted off once. */
  counted: boolean;
  /**
   * Aborts when the client's side of the call closes (the adapter's request signal, which the edge
   * knows). Closed before the call's line is written, which is before its answer is, means the
   * client went away: a cancellation, whatever the handler made of the torn request.
   */
  readonly client?: AbortSignal;
}

export const callRecordKey = createContextKey<CallRecord | undefined>(undefined, { description: "call record" });

export function newCallRecord(offeredRequestId: string | null | undefined, client?: AbortSignal): CallRecord {
  return { requestId: requestIdFrom(offeredRequestId), started: performance.now(), logged: false, counted: false, ...(client === undefined ? {} : { client }) };
}

export interface CallLine {
  readonly record: CallRecord;
  /** `service/method`, or "unknown" for a path that names no RPC (a label must stay bounded). */
  readonly procedure: string;
  readonly protocol: string;
  readonly principal: string;
}

/** Counts a call as active from here until its line is written. */
export function beginCall(metrics: RpcMetrics | undefined, record: CallRecord, procedure: string, protocol: string): void {
  if (metrics === undefined || record.counted) return;
  record.counted = true;
  metrics.started(procedure, protocol);
}

/**
 * Writes a call's one line (procedure, outcome, duration, principal kind; never a message) and
 * measures it (duration by code; no longer active). Refusals log at warn, server-side failures at
 * error with their cause; a call its client cancelled (closed its stream, its connection) at info
 * as `canceled`: a request body cut short or a stream abandoned mid-way is no server failure.
 */
export function createCallLog(logger: Logger, metrics?: RpcMetrics): (line: CallLine, error?: unknown) => void {
  const lines = flatLineLogger(logger);
  return ({ record, procedure, protocol, principal }, error) => {
    if (record.logged) return;
    record.logged = true;
    const elapsedMs = performance.now() - record.started;
    // The request id goes in the line rather than in a child logger per call: pino serialises a
    // child's bindings (through the redaction) when it is made, even at levels that log nothing.
    // Built only for a level that logs: at warn, most calls (answered ok) write nothing.
    const fields = () => ({ requestId: record.requestId, procedure, protocol, principal, durationMs: Math.round(elapsedMs * 1000) / 1000 });
    if (record.client?.aborted === true) {
      metrics?.ended(procedure, protocol, Code.Canceled, elapsedMs / 1000, record.counted);
      if (lines.isLevelEnabled("info")) lines.info({ ...fields(), outcome: Code[Code.Canceled] }, "rpc canceled");
      return;
    }
    if (error === undefined) {
      metrics?.ended(procedure, protocol, undefined, elapsedMs / 1000, record.counted);
      if (lines.isLevelEnabled("info")) lines.info({ ...fields(), outcome: "ok" }, "rpc");
      return;
    }
    const connectError = ConnectError.from(error);
    const outcome = Code[connectError.code];
    metrics?.ended(procedure, protocol, connectError.code, elapsedMs / 1000, record.counted);
    if (serverSide.has(connectError.code) && !(connectError.cause instanceof ShuttingDown || connectError.cause instanceof StreamLifetimeReached)) {
      logger.error({ ...fields(), outcome, err: connectError.cause ?? connectError }, "rpc failed");
    } else if (lines.isLevelEnabled("warn")) {
      // An abuse control names its rule, so an operator can tell which one fires from the log alone.
      const cause: unknown = connectError.cause;
      const rule = cause instanceof DomainError ? cause.metadata?.["rule"] : undefined;
      lines.warn({ ...fields(), outcome, reason: connectError.rawMessage, ...(rule === undefined ? {} : { rule }) }, "rpc refused");
    }
  };
}

export function protocolOf(contentType: string | null): string {
  if (contentType === null) return "connect";
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}
