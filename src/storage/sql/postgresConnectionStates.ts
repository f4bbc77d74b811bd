import type { Knex } from "knex";
import { asDependencyFailure } from "../../errors/dependencyFailure.js";
import type { ConnectionStates } from "../../observability/connectionStates.js";

interface PoolEvents {
  on(event: "createFail", listener: (eventId: number, error: unknown) => void): void;
  on(event: "createSuccess", listener: () => void): void;
}

/**
 * Tells `states` of Postgres at `node` (host:port): lost when the pool cannot open a connection or
 * a statement fails for want of one (a reset, an admin shutdown), back when a connection opens or
 * a statement is answered. The relays' polls (about once a second) notice a return with no call.
 */
export function watchPostgresConnections(db: Knex, node: string, states: ConnectionStates): void {
  const pool = (db.client as { pool?: PoolEvents }).pool;
  pool?.on("createFail", (_eventId, error) => states.lost(node, error));
  pool?.on("createSuccess", () => states.back(node));
  db.on("query-error", (error: unknown) => {
    if (asDependencyFailure(error) !== undefined) states.lost(node, error);
  });
  db.on("query-response", () => states.back(node));
}

/** host:port of a Postgres URL, as a log line names the node (no credentials). */
export function postgresNode(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port === "" ? "5432" : parsed.port}`;
}
