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
  /**
   * Opens a server span whose parent is the caller's `traceparent`, if it sent one. It lasts until
   * `end`, past the handler for a streamed answer, and each `within` runs part of the call as its child.
   */
  serve(name: string, attributes: Attributes, headers: Headers): ServedSpan;
  /** Starts a span under the active one for work whose end comes from elsewhere (an event); none outside a span. */
  start(name: string, kind: SpanKind, attributes: Attributes): Span;
}

/** A call's server span, open until `end`; its status is the RPC's to set (a refusal is no server fault). */
export interface ServedSpan {
  readonly span: Span;
  /** Runs `work` with this span active, so the spans it starts are its children. */
  within<T>(work: () => Promise<T>): Promise<T>;
  end(): void;
}

// One span that records nothing, handed to every traced site while tracing is off.
export const noSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

const unserved: ServedSpan = { span: noSpan, within: (work) => work(), end: () => {} };

export const untraced: Spans = {
  enabled: false,
  run: (_name, _kind, _attributes, work) => work(noSpan),
  serve: () => unserved,
  start: () => noSpan,
};
