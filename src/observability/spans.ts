import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type TextMapGetter, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

export { SpanKind, SpanStatusCode };
export type { Span };

/**
 * Where onetime records spans: one per RPC (continuing the caller's W3C trace context), with
 * children for Redis scripts, Postgres statements and provider sends. `untraced` when tracing is
 * off: each call is then a plain function call, nothing allocated (the bench measures it).
 */
export interface Spans {
  readonly enabled: boolean;
  /**
   * Runs `work` in a span that is a child of the span active where it is called. Without one
   * (background work: the relays' polls), no span, unless `root` asks for a trace of its own.
   */
  run<T>(name: string, kind: SpanKind, attributes: Attributes, work: (span: Span) => Promise<T>, root?: "own trace"): Promise<T>;
  /** Runs `work` in a server span whose parent is the caller's `traceparent`, if it sent one. */
  serve<T>(name: string, attributes: Attributes, headers: Headers, work: (span: Span) => Promise<T>): Promise<T>;
  /** Starts a span under the active one for work whose end comes from elsewhere (an event); none outside a span. */
  start(name: string, kind: SpanKind, attributes: Attributes): Span;
}

// One span that records nothing, handed to every traced site while tracing is off.
const noSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export const untraced: Spans = {
  enabled: false,
  run: (_name, _kind, _attributes, work) => work(noSpan),
  serve: (_name, _attributes, _headers, work) => work(noSpan),
  start: () => noSpan,
};

const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/**
 * Spans of one tracer, with their own context manager and propagator rather than the API's
 * globals: nothing is registered process-wide, so several servers in one process (the tests)
 * cannot leak spans into each other.
 */
export function tracedSpans(tracer: Tracer): Spans & { close(): void } {
  const contexts = new AsyncLocalStorageContextManager().enable();
  const propagator = new W3CTraceContextPropagator();
  // A server span's status is the RPC's to set (a refusal is not a server error); a client span
  // whose work threw did fail.
  const within = async <T>(parent: Context, span: Span, work: (span: Span) => Promise<T>, failsOnThrow = true): Promise<T> => {
    try {
      return await contexts.with(trace.setSpan(parent, span), () => work(span));
    } catch (error) {
      if (failsOnThrow) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      throw error;
    } finally {
      span.end();
    }
  };
  return {
    enabled: true,
    run(name, kind, attributes, work, root) {
      const parent = contexts.active();
      // Idle polls would otherwise fill the trace store with a root span every few milliseconds.
      if (root === undefined && trace.getSpan(parent) === undefined) return work(noSpan);
      return within(parent, tracer.startSpan(name, { kind, attributes }, parent), work);
    },
    serve(name, attributes, headers, work) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, headerGetter);
      return within(parent, tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent), work, false);
    },
    start(name, kind, attributes) {
      const parent = contexts.active();
      return trace.getSpan(parent) === undefined ? noSpan : tracer.startSpan(name, { kind, attributes }, parent);
    },
    close() {
      contexts.disable();
    },
  };
}
