import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { SpanStatusCode, type Span, type Spans } from "../../observability/spans.js";
import { rpcSystemOf } from "../../observability/rpcMetrics.js";
import { protocolOf } from "../callLog.js";
import { requestIdKey } from "./requestLog.js";
import { eachStepWithin, observeStream } from "./streams.js";

/**
 * One server span per RPC, named `package.Service/Method` and continuing the caller's W3C trace
 * context (`traceparent`), with the OpenTelemetry RPC attributes. The store and provider spans of
 * the call become its children. Inside the request log, so the span carries its request id, and
 * outside the error boundary, so it records the code the caller gets. A streamed answer's span
 * ends with the stream.
 */
export function rpcSpans(spans: Spans): Interceptor {
  if (!spans.enabled) return (next) => next;
  return (next) => async (request) => {
    const system = rpcSystemOf(protocolOf(request.header.get("content-type")));
    const grpc = system === "grpc";
    const attributes = {
      "rpc.system": system,
      "rpc.service": request.service.typeName,
      "rpc.method": request.method.name,
      "onetime.request_id": request.contextValues.get(requestIdKey) ?? "",
    };
    const served = spans.serve(`${request.service.typeName}/${request.method.name}`, attributes, request.header);
    const finish = (error?: unknown) => {
      // A stream whose caller left ends without an error, but not as the server's success.
      const code = error !== undefined ? ConnectError.from(error).code : request.signal.aborted ? Code.Canceled : 0;
      recordCode(served.span, grpc, code);
      served.end();
    };
    let response: Awaited<ReturnType<typeof next>>;
    try {
      response = await served.within(() => next(request));
    } catch (error) {
      finish(error);
      throw error;
    }
    if (!response.stream) {
      finish();
      return response;
    }
    // A stream's span lasts until its last message (or the caller leaves), with the work of each
    // message as its children.
    return { ...response, message: observeStream(eachStepWithin(response.message, served.within), finish) };
  };
}

function recordCode(span: Span, grpc: boolean, code: Code | 0): void {
  if (grpc) span.setAttribute("rpc.grpc.status_code", code);
  else if (code !== 0) span.setAttribute("rpc.connect_rpc.error_code", Code[code]!.replace(/[A-Z]/g, (letter, at: number) => (at === 0 ? "" : "_") + letter.toLowerCase()));
  // Server spans mark only server faults as errors (OpenTelemetry RPC conventions): a wrong code
  // is the caller's outcome, not the server's failure.
  if (code === Code.Internal || code === Code.Unknown || code === Code.Unavailable || code === Code.DataLoss || code === Code.DeadlineExceeded) {
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
}
