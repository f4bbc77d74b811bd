import { Code, ConnectError, createContextValues, type ConnectRouter } from "@connectrpc/connect";
import {
  uResponseMethodNotAllowed,
  uResponseNotFound,
  uResponseOk,
  uResponseUnsupportedMediaType,
  uResponseVersionNotSupported,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { universalResponseToNodeResponse, type ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import type { Logger } from "../../observability/logger.js";
import { metricsPath } from "../../observability/metrics.js";
import type { RpcMetrics } from "../../observability/rpcMetrics.js";
import { beginCall, callRecordKey, createCallLog, newCallRecord, protocolOf, requestIdHeader, type CallRecord } from "../callLog.js";
import { toConnectError } from "../interceptors/errorBoundary.js";
import { readAnswer } from "./answeredError.js";
import { withGrpcMessages } from "./grpcMessage.js";
import { readableMessages } from "./readableMessages.js";
import { refusalResponse } from "./refusalResponse.js";
import { declaredTooLarge, limitRequestBody, tooLarge } from "./requestSizeLimit.js";

export interface RpcEdgeOptions {
  readonly logger: Logger;
  readonly metrics: RpcMetrics;
  /** MAX_REQUEST_BYTES: the largest request message. */
  readonly maxRequestBytes: number;
  /** Names of the services served, for the answer to a path that names none of them. */
  readonly services: readonly string[];
}

// Refused before authentication: no principal is known.
const noPrincipal = "unchecked";

/**
 * Connect answers some requests before any interceptor runs: a path that names no RPC, a content
 * type or method no protocol takes, a message it cannot decode or that is too large (which the
 * edge finds first, see readableMessages.ts and requestSizeLimit.ts, to say so in words). Those
 * answers were bare HTTP statuses, without a request id or a log line. The edge gives every
 * request its id first, turns each such refusal into the protocol's error with a message that
 * says what to do, and logs and counts it as the request log does any call.
 */
export function createRpcEdge(options: RpcEdgeOptions) {
  const log = createCallLog(options.logger, options.metrics);

  /** Wraps every handler the routes registered; call from inside `routes`, after registering. */
  function guardHandlers(router: ConnectRouter): void {
    router.handlers.forEach((handler, index) => (router.handlers[index] = guarded(handler)));
  }

  function guarded(handler: UniversalHandler): UniversalHandler {
    const procedure = `${handler.service.typeName}/${handler.method.name}`;
    const guard = async (request: UniversalServerRequest): Promise<UniversalServerResponse> => {
      const record = newCallRecord(request.header.get(requestIdHeader), request.signal);
      const contextValues = request.contextValues ?? createContextValues();
      contextValues.set(callRecordKey, record);
      const contentType = request.header.get("content-type");
      const line = { record, procedure, protocol: protocolOf(contentType), principal: noPrincipal };
      beginCall(options.metrics, record, procedure, line.protocol);
      if (declaredTooLarge(request.header, options.maxRequestBytes)) {
        const refusal = tooLarge(options.maxRequestBytes);
        log(line, refusal);
        return withRequestId(refusalResponse(contentType, refusal), record);
      }
      const body = isByteStream(request.body)
        ? readableMessages(limitRequestBody(request.body, request.header, options.maxRequestBytes), request.header, handler.method.input, options.maxRequestBytes)
        : request.body;
      const response = await handler({ ...request, body, contextValues });
      const refusal = refusalOf(response, request, handler);
      if (refusal !== undefined) {
        log(line, refusal);
        return withRequestId(refusalResponse(contentType, refusal), record);
      }
      // Most calls reached the request log, which has written their line by now (a unary call) or
      // will (a stream); only the others need their answer read.
      if (record.logged) return withRequestId(response, record);
      return withRequestId(
        readAnswer(response, contentType, (error) => log(line, error)),
        record,
      );
    };
    return Object.assign(guard, {
      protocolNames: handler.protocolNames,
      allowedMethods: handler.allowedMethods,
      supportedContentType: handler.supportedContentType,
      requestPath: handler.requestPath,
      service: handler.service,
      method: handler.method,
    });
  }

  /** The adapter's `fallback`: a path that names no RPC. */
  const unknownPath: NonNullable<ConnectNodeAdapterOptions["fallback"]> = (request, response) => {
    const record = newCallRecord(headerOf(request, requestIdHeader));
    const contentType = headerOf(request, "content-type") ?? null;
    const path = (request.url ?? "/").split("?")[0]!;
    const error =
      request.method === "OPTIONS"
        ? corsRefusal()
        : new ConnectError(
            // Whatever the method: the API port is public, so it never serves metrics (a metric
            // that moves for a known address and not for an unknown one tells them apart).
            path === metricsPath
              ? `${path} is not served on this port: Prometheus metrics are served on the metrics port (METRICS_PORT), not the API port`
              : `${path} is not an RPC served here: call /<service>/<method> of ${options.services.join(", ")} (\`npx buf curl --list-services\` lists them)`,
            Code.Unimplemented,
          );
    log({ record, procedure: "unknown", protocol: protocolOf(contentType), principal: noPrincipal }, error);
    void universalResponseToNodeResponse(withRequestId(refusalResponse(contentType, error), record), response).catch(() => undefined);
  };

  /**
   * A handler that refuses every request with `error` (a domain error, shaped as the boundary
   * shapes it), logged and counted under "unknown": it is refused before its path is read.
   */
  function refuseWith(error: unknown): NonNullable<ConnectNodeAdapterOptions["fallback"]> {
    const refusal = toConnectError(error);
    return (request, response) => {
      const record = newCallRecord(headerOf(request, requestIdHeader));
      const contentType = headerOf(request, "content-type") ?? null;
      log({ record, procedure: "unknown", protocol: protocolOf(contentType), principal: noPrincipal }, refusal);
      void universalResponseToNodeResponse(withRequestId(refusalResponse(contentType, refusal), record), response).catch(() => undefined);
    };
  }

  return { guardHandlers, unknownPath, refuseWith };
}

/** Connect's empty 415 and 405, as refusals that say what would have been accepted. */
function refusalOf(response: UniversalServerResponse, request: UniversalServerRequest, handler: UniversalHandler): ConnectError | undefined {
  if (response === uResponseUnsupportedMediaType || response.status === uResponseUnsupportedMediaType.status) {
    const sent = request.header.get("content-type");
    // Connect names its streaming content types apart from its unary ones.
    const connect = handler.method.methodKind === "unary" ? "application/json or application/proto" : "application/connect+json or application/connect+proto";
    return new ConnectError(
      `content-type ${sent === null ? "(none)" : `"${sent}"`} is not served for this ${handler.method.methodKind.replace("_", "-")} RPC: send ${connect} (Connect), application/grpc (gRPC) or application/grpc-web (gRPC-Web)`,
      Code.InvalidArgument,
    );
  }
  if (response === uResponseMethodNotAllowed || response.status === uResponseMethodNotAllowed.status) {
    if (request.method === "OPTIONS") return corsRefusal();
    return new ConnectError(`HTTP ${request.method} is not served for this RPC: send ${handler.allowedMethods.join(" or ")}`, Code.Unimplemented);
  }
  return undefined;
}

function corsRefusal(): ConnectError {
  return new ConnectError(
    "CORS preflight refused: no browser origin may call this server; list the origins that may in CORS_ORIGINS",
    Code.PermissionDenied,
  );
}

/** Connect's canned answers: objects shared by every call that gets one, so never changed in place. */
const cannedResponses: ReadonlySet<UniversalServerResponse> = new Set([uResponseOk, uResponseNotFound, uResponseUnsupportedMediaType, uResponseMethodNotAllowed, uResponseVersionNotSupported]);

/** Every answer leaves the edge here: with its request id, and its grpc-message as the gRPC spec spells it. */
function withRequestId(response: UniversalServerResponse, record: CallRecord): UniversalServerResponse {
  // Any other answer's headers are its call's own (copying them cost every call an undici Headers).
  if (cannedResponses.has(response) || response.header === undefined) {
    const header = new Headers(response.header);
    header.set(requestIdHeader, record.requestId);
    return withGrpcMessages({ ...response, header });
  }
  response.header.set(requestIdHeader, record.requestId);
  return withGrpcMessages(response);
}

function headerOf(request: { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isByteStream(body: UniversalServerRequest["body"]): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}
