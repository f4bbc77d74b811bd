import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { tracedSpans, untraced, type Spans } from "./spans.js";

export interface Tracing {
  readonly spans: Spans;
  /** Exports what is still buffered, then stops; call last, after the server has drained. */
  shutdown(): Promise<void>;
}

/**
 * The OpenTelemetry SDK, exporting over OTLP/HTTP where the standard `OTEL_*` variables say
 * (endpoint, headers, batch sizes, resource attributes: the SDK reads them itself). Off unless
 * the config turned it on; off costs nothing but a no-op call per span site.
 */
export function startTracing(config: { readonly enabled: boolean; readonly serviceName: string; readonly url?: string }): Tracing {
  if (!config.enabled) return { spans: untraced, shutdown: async () => undefined };
  const provider = new TracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name.
    resource: resourceFromAttributes({ "service.name": config.serviceName }).merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(config.url === undefined ? {} : { url: config.url }) })],
  });
  const spans = tracedSpans(provider.getTracer("onetime"));
  return {
    spans,
    async shutdown() {
      await provider.shutdown();
      spans.close();
    },
  };
}
