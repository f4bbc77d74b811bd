import type { Registry } from "prom-client";
import { metricsPath } from "../observability/metrics.js";
import type { RequestHandler } from "./cors.js";

/** Serves Prometheus metrics at GET /metrics on the API port; everything else goes to `handler`. */
export function withMetrics(registry: Registry, handler: RequestHandler): RequestHandler {
  return (request, response) => {
    // Any other method goes on to the RPC edge, which refuses it in the caller's protocol and
    // says /metrics is read with GET.
    const read = request.method === "GET" || request.method === "HEAD";
    if (!read || (request.url ?? "").split("?")[0] !== metricsPath) return handler(request, response);
    registry.metrics().then(
      (text) => {
        response.setHeader("content-type", registry.contentType);
        response.end(text);
      },
      () => {
        response.statusCode = 500;
        response.end();
      },
    );
  };
}
