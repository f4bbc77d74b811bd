import { performance } from "node:perf_hooks";
import { noSpan, SpanKind, SpanStatusCode, untraced, type Spans } from "./spans.js";
import type { StoreMetrics } from "./storeMetrics.js";

/** One operation on a store, named as OpenTelemetry's database conventions name it. */
export interface StoreOperation {
  readonly system: "redis" | "postgresql";
  /** `EVALSHA`, `PUBLISH`, `SELECT`, `UPDATE`, … */
  readonly name: string;
  /**
   * What it did to what: `EVALSHA onetimeSecrets_take`, `UPDATE account_tokens`. Names a script or
   * a table, never a key or a value: keys hold hashes of codes and recipients.
   */
  readonly summary: string;
  /** A statement's text (spans only: without its bindings, which hold hashes and sealed secrets). */
  readonly text?: string;
}

/**
 * Where each Redis command and Postgres statement is observed: a span under the RPC's (when
 * tracing is on and there is one) and one observation in /metrics' store histogram.
 */
export interface StoreCalls {
  /** Marks the start of one operation; the function returned ends it, failed if given an error. */
  begin(operation: StoreOperation): (error?: unknown) => void;
}

const noEnd = () => {};

export const unobserved: StoreCalls = { begin: () => noEnd };

export function observeStoreCalls(spans: Spans = untraced, metrics?: StoreMetrics): StoreCalls {
  if (!spans.enabled && metrics === undefined) return unobserved;
  return {
    begin(operation) {
      const started = performance.now();
      const span = spans.enabled ? spans.start(operation.summary, SpanKind.CLIENT, spanAttributes(operation)) : noSpan;
      return (error) => {
        metrics?.observe(operation, (performance.now() - started) / 1000, error);
        if (error !== undefined) {
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      };
    },
  };
}

/** Runs `work` as one observed operation. */
export async function observed<T>(calls: StoreCalls, operation: StoreOperation, work: () => Promise<T>): Promise<T> {
  const end = calls.begin(operation);
  let result: T;
  try {
    result = await work();
  } catch (error) {
    end(error);
    throw error;
  }
  // Outside the try: the work is done, and observing it must not turn it into a failure.
  end();
  return result;
}

function spanAttributes(operation: StoreOperation): Record<string, string> {
  return {
    "db.system.name": operation.system,
    "db.operation.name": operation.name,
    "db.query.summary": operation.summary,
    ...(operation.text === undefined ? {} : { "db.query.text": operation.text }),
  };
}
