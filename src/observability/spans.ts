import { INVALID_SPAN_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";

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
export const noSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export const untraced: Spans = {
  enabled: false,
  run: (_name, _kind, _attributes, work) => work(noSpan),
  serve: (_name, _attributes, _headers, work) => work(noSpan),
  start: () => noSpan,
};
