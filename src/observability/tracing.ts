import { untraced, type Spans } from "./spans.js";
import { tracedSpans } from "./tracedSpans.js";

export interface Tracing {
  readonly spans: Spans;
  /** Exports what is still buffered, then stops; call last, after the server has drained. */
  shutdown(): Promise<void>;
}

export interface TracingConfig {
  readonly enabled: boolean;
  readonly serviceName: string;
  /** The OTLP/HTTP traces URL; unset: the exporter's default. */
  readonly url?: string;
}

/**
 * The OpenTelemetry SDK, exporting over OTLP/HTTP where the standard `OTEL_*` variables say
 * (endpoint, headers, batch sizes, resource attributes: the SDK reads them itself). Off unless
 * the config turned it on; off, the SDK is not even loaded, and each span site is a no-op call.
 */
export async function startTracing(config: TracingConfig): Promise<Tracing> {
  if (!config.enabled) return { spans: untraced, shutdown: async () => undefined };
  const [
    { OTLPTraceExporter },
    { detectResources, envDetector, resourceFromAttributes },
    { BatchSpanProcessor, TracerProvider },
    { AsyncLocalStorageContextManager },
    { W3CTraceContextPropagator },
  ] = await Promise.all([
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
  ]);
  const provider = new TracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name.
    resource: resourceFromAttributes({ "service.name": config.serviceName }).merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(config.url === undefined ? {} : { url: config.url }) })],
  });
  const spans = tracedSpans(provider.getTracer("onetime"), new AsyncLocalStorageContextManager(), new W3CTraceContextPropagator());
  return {
    spans,
    async shutdown() {
      await provider.shutdown();
      spans.close();
    },
  };
}
