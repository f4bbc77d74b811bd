import type { Registry } from "prom-client";
import type { RequestHandler } from "./cors.js";

/** Serves Prometheus metrics at GET /metrics on the API port; everything else goes to `handler`. */
export function withMetrics(registry: Registry, handler: RequestHandler): RequestHandler {
  return (request, response) => {
    if ((request.url ?? "").split("?")[0] !== "/metrics") return handler(request, response);
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("GET /metrics for the Prometheus metrics\n");
      return;
    }
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
