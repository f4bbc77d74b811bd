import type { Knex } from "knex";
import { SpanKind, SpanStatusCode, type Span, type Spans } from "../../observability/spans.js";

interface QueryEvent {
  readonly __knexQueryUid?: string;
  readonly method?: string;
  readonly sql?: string;
}

/**
 * A client span per Postgres statement, from knex's query events: each starts where the query is
 * issued, under the RPC's span, and ends with its answer. The statement text is recorded, never
 * its bindings (they hold hashes of codes and sealed secrets).
 */
export function traceQueries(db: Knex, spans: Spans): void {
  if (!spans.enabled) return;
  const open = new Map<string, Span>();
  db.on("query", (query: QueryEvent) => {
    if (query.__knexQueryUid === undefined) return;
    const operation = (query.method ?? "query").toUpperCase();
    const span = spans.start(`${operation} postgres`, SpanKind.CLIENT, { "db.system.name": "postgresql", "db.operation.name": operation, "db.query.text": query.sql ?? "" });
    // Outside a call (migrations, the outbox relay's polls) there is no span to keep.
    if (span.isRecording()) open.set(query.__knexQueryUid, span);
  });
  const end = (query: QueryEvent, error?: Error) => {
    const span = query.__knexQueryUid === undefined ? undefined : open.get(query.__knexQueryUid);
    if (span === undefined) return;
    open.delete(query.__knexQueryUid!);
    if (error !== undefined) {
      span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  };
  db.on("query-response", (_response: unknown, query: QueryEvent) => end(query));
  db.on("query-error", (error: Error, query: QueryEvent) => end(query, error));
}
