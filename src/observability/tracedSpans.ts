import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type ContextManager, type Span, type TextMapGetter, type TextMapPropagator, type Tracer } from "@opentelemetry/api";
import { noSpan, type Spans } from "./spans.js";

const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/**
 * Spans of one tracer, with their own context manager and propagator rather than the API's
 * globals: nothing is registered process-wide, so several servers in one process (the tests)
 * cannot leak spans into each other. Given, not imported, so the SDK loads only when tracing is on.
 */
export function tracedSpans(tracer: Tracer, contexts: ContextManager, propagator: TextMapPropagator): Spans & { close(): void } {
  contexts.enable();
  const within = async <T>(parent: Context, span: Span, work: (span: Span) => Promise<T>): Promise<T> => {
    try {
      return await contexts.with(trace.setSpan(parent, span), () => work(span));
    } catch (error) {
      // A client span whose work threw did fail.
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
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
    serve(name, attributes, headers) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, headerGetter);
      const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
      const active = trace.setSpan(parent, span);
      return { span, within: (work) => contexts.with(active, work), end: () => span.end() };
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
