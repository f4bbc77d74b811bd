import { performance } from "node:perf_hooks";
import type { Logger } from "./logger.js";
import { untraced, type Spans } from "./spans.js";
import { tracedSpans } from "./tracedSpans.js";

export interface Tracing {
  readonly spans: Spans;
  /** Exports what is still buffered, then stops; call last, after the server has drained. */
  shutdown(): Promise<void>;
}

/** OTEL_TRACES_SAMPLER's values, read by config (sdk-trace 3 stopped reading it: the application builds its sampler either way). */
export type SamplerName = "always_on" | "always_off" | "traceidratio" | "parentbased_always_on" | "parentbased_always_off" | "parentbased_traceidratio";

export interface TracingConfig {
  readonly enabled: boolean;
  readonly serviceName: string;
  /** Which traces are recorded; `ratio` is OTEL_TRACES_SAMPLER_ARG, used by the *traceidratio ones. */
  readonly sampler: { readonly name: SamplerName; readonly ratio: number };
  /** The OTLP/HTTP traces URL; unset: the exporter's default. */
  readonly url?: string;
  /** The batch span processor's settings, from OTEL_BSP_* (read by config, as the sampler is). */
  readonly batch: { readonly scheduledDelayMillis: number; readonly maxQueueSize: number; readonly maxExportBatchSize: number; readonly exportTimeoutMillis: number };
}

/**
 * The OpenTelemetry SDK, exporting over OTLP/HTTP where the standard `OTEL_*` variables say:
 * config reads the endpoint and the sampler; the exporter its headers, timeout and compression;
 * the env detector the resource attributes. Off unless
 * the config turned it on; off, the SDK is not even loaded, and each span site is a no-op call.
 */
export async function startTracing(config: TracingConfig, logger: Logger): Promise<Tracing> {
  if (!config.enabled) return { spans: untraced, shutdown: async () => undefined };
  const [
    { OTLPTraceExporter },
    { detectResources, envDetector, resourceFromAttributes },
    { AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider },
    { AsyncLocalStorageContextManager },
    { W3CTraceContextPropagator },
    { diag, DiagLogLevel },
  ] = await Promise.all([
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
    import("@opentelemetry/api"),
  ]);
  // The SDK says what goes wrong (spans dropped from a full queue, exports that fail) only on its
  // diagnostic channel, which is the process's: without a logger there, the losses are silent.
  // One app per process in production; tests running several share it, the last one's logger.
  // At most a line per level every 10 s: with the collector down under load the SDK fails a batch
  // many times a second, and the log would bury everything else.
  const error = atMostEvery(10_000, (fields, message) => logger.error(fields, message));
  const warn = atMostEvery(10_000, (fields, message) => logger.warn(fields, message));
  diag.setLogger(
    {
      error: (message, ...args) => error(details(args), `opentelemetry: ${message}`),
      warn: (message, ...args) => warn(details(args), `opentelemetry: ${message}`),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const { name, ratio } = config.sampler;
  const decides = name.endsWith("always_off") ? new AlwaysOffSampler() : name.endsWith("traceidratio") ? new TraceIdRatioBasedSampler(ratio) : new AlwaysOnSampler();
  const provider = new TracerProvider({
    sampler: name.startsWith("parentbased_") ? new ParentBasedSampler({ root: decides }) : decides,
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name.
    resource: resourceFromAttributes({ "service.name": config.serviceName }).merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(config.url === undefined ? {} : { url: config.url }), ...config.batch })],
  });
  const spans = tracedSpans(provider.getTracer("onetime"), new AsyncLocalStorageContextManager(), new W3CTraceContextPropagator());
  return {
    spans,
    async shutdown() {
      await provider.shutdown();
      spans.close();
      error.flush();
      warn.flush();
      diag.disable();
    },
  };
}

/** The SDK's extra arguments as log fields: an Error under `err`, so pino serialises it. */
function details(args: unknown[]): Record<string, unknown> {
  const error = args.find((arg): arg is Error => arg instanceof Error);
  const rest = args.filter((arg) => arg !== error);
  return { ...(error === undefined ? {} : { err: error }), ...(rest.length === 0 ? {} : { args: rest }) };
}

type LogLine = (fields: Record<string, unknown>, message: string) => void;

/**
 * Writes a line at most every `intervalMs`; the next one written says how many were left out, and
 * `flush` says it when no next one comes (at shutdown).
 */
function atMostEvery(intervalMs: number, write: LogLine): LogLine & { flush(): void } {
  let last = -Infinity;
  let leftOut = 0;
  let lastMessage = "";
  const line = (fields: Record<string, unknown>, message: string) => {
    const now = performance.now();
    lastMessage = message;
    if (now - last < intervalMs) {
      leftOut += 1;
      return;
    }
    last = now;
    write(leftOut === 0 ? fields : { ...fields, leftOut }, message);
    leftOut = 0;
  };
  return Object.assign(line, {
    flush() {
      if (leftOut > 0) write({ leftOut }, `${lastMessage} (the last of ${leftOut} lines left out)`);
      leftOut = 0;
    },
  });
}
