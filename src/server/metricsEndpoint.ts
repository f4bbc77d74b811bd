import type { Registry } from "prom-client";
import type { RequestHandler } from "./cors.js";

/** Serves Prometheus metrics at GET /metrics on the API port; everything else goes to `handler`. */
export function withMetrics(registry: Registry, handler: RequestHandler): RequestHandler {
  return (request, response) => {
    if (request.method !== "GET" || request.url !== "/metrics") return handler(request, response);
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
