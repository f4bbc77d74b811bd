import type { Knex } from "knex";
import type { StoreCalls, StoreOperation } from "../../observability/storeCalls.js";

interface QueryEvent {
  readonly __knexQueryUid?: string;
  readonly sql?: string;
}

/**
 * Observes every Postgres statement from knex's query events: each starts where the query is
 * issued (a span under the RPC's, when there is one) and ends with its answer or error.
 */
export function observeQueries(db: Knex, calls: StoreCalls): void {
  const open = new Map<string, (error?: unknown) => void>();
  db.on("query", (query: QueryEvent) => {
    if (query.__knexQueryUid === undefined) return;
    // knex ends a statement with one of the events below, except when its own processing of a
    // response throws; the oldest statements still open then are ended here, not kept forever.
    if (open.size >= maxOpenStatements) {
      const [oldest, ended] = open.entries().next().value!;
      open.delete(oldest);
      ended(new Error("no answer event from knex"));
    }
    open.set(query.__knexQueryUid, calls.begin(statementOperation(query.sql ?? "")));
  });
  const end = (query: QueryEvent, error?: unknown) => {
    const uid = query.__knexQueryUid;
    const ended = uid === undefined ? undefined : open.get(uid);
    if (ended === undefined) return;
    open.delete(uid!);
    ended(error);
  };
  db.on("query-response", (_response: unknown, query: QueryEvent) => end(query));
  db.on("query-error", (error: unknown, query: QueryEvent) => end(query, error));
}

// Far above what DATABASE_POOL_MAX connections keep open at once.
const maxOpenStatements = 10_000;

const name = String.raw`(?:"[^"]+"|[a-z_][a-z0-9_$]*)`;
const tableName = String.raw`(${name}(?:\.${name})?)`;
// A write wrapped in a CTE is still a write; `for update`, `for no key update` and `on conflict
// do update` lock or upsert, they do not name the statement.
const writeTarget = new RegExp(String.raw`\b(insert\s+into|(?<!\b(?:for|do|key)\s+)update|delete\s+from)\s+${tableName}`, "i");
const readTarget = new RegExp(String.raw`\bfrom\s+${tableName}`, "i");
const firstWord = /^\s*\(?\s*([a-z]+)/i;
const summaries = new Map<string, StoreOperation>();
// Statements come from code, so there are few of them; the bound keeps statements built from
// data (a growing `in (…)` list) from growing the cache without end. Summaries need none: they
// name tables, which the schema bounds.
const maxSummaries = 500;

/**
 * A statement as OpenTelemetry's `db.query.summary` names it: its operation and table
 * (`UPDATE account_tokens`), the schema left out (it differs per deployment, not per statement).
 */
export function statementOperation(sql: string): StoreOperation {
  const known = summaries.get(sql);
  if (known !== undefined) return known;
  const write = writeTarget.exec(sql);
  const verb = (write?.[1] ?? firstWord.exec(sql)?.[1] ?? "query").split(/\s+/)[0]!.toUpperCase();
  // A CTE that writes nothing reads.
  const operationName = verb === "WITH" ? "SELECT" : verb;
  const target = write?.[2] ?? (operationName === "SELECT" ? readTarget.exec(sql)?.[1] : undefined);
  const table = target?.split(".").at(-1)?.replaceAll('"', "");
  const operation: StoreOperation = { system: "postgresql", name: operationName, summary: table === undefined ? operationName : `${operationName} ${table}`, text: sql };
  if (summaries.size < maxSummaries) summaries.set(sql, operation);
  return operation;
}
