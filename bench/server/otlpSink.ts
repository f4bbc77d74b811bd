import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Stands in for an OpenTelemetry collector: accepts OTLP/HTTP JSON on POST /v1/traces (what the
 * server's exporter sends), counts the spans and answers 200, keeping nothing else. It runs in the
 * bench process, so what receiving costs is the bench's CPU, not the server's.
 */
export interface OtlpSink {
  /** OTEL_EXPORTER_OTLP_ENDPOINT for the server under test. */
  readonly endpoint: string;
  /** Spans received so far. */
  spans(): number;
  /** Requests whose body was not OTLP JSON (counted, their spans unknown). */
  unreadable(): number;
  close(): Promise<void>;
}

interface ExportTraceRequest {
  readonly resourceSpans?: readonly { readonly scopeSpans?: readonly { readonly spans?: readonly unknown[] }[] }[];
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let spans = 0;
  let unreadable = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.method !== "POST" || request.url !== "/v1/traces") {
        response.writeHead(404).end();
        return;
      }
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ExportTraceRequest;
        for (const resource of body.resourceSpans ?? []) for (const scope of resource.scopeSpans ?? []) spans += scope.spans?.length ?? 0;
      } catch {
        unreadable++;
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () => spans,
    unreadable: () => unreadable,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
