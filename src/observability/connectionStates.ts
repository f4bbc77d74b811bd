import { performance } from "node:perf_hooks";
import type { Logger } from "./logger.js";

/**
 * What an operator needs when a store goes: which one, which node, and when it came back. A node
 * that is down fails every connection attempt and every call that needs it, often many times a
 * second; logging each would drown the one line that matters. So each node's state is logged
 * when it changes, once: `store connection lost` at warn (with the first error), `store connection
 * back` at info (with how long it was gone). What follows while it stays down goes to debug.
 */
export interface ConnectionStates {
  /** A connection to `node` (host:port) failed or could not be made. */
  lost(node: string, error: unknown): void;
  /** A connection to `node` is serving. */
  back(node: string): void;
}

export function logConnectionStates(logger: Logger, store: "redis" | "postgres"): ConnectionStates {
  /** Since when each node lost is down; a node not here is up (or never seen). */
  const down = new Map<string, number>();
  return {
    lost(node, error) {
      if (down.has(node)) {
        logger.debug({ store, node, err: error }, "store connection still lost");
        return;
      }
      down.set(node, performance.now());
      logger.warn({ store, node, err: error }, "store connection lost");
    },
    back(node) {
      const since = down.get(node);
      if (since === undefined) return;
      down.delete(node);
      logger.info({ store, node, downMs: Math.round(performance.now() - since) }, "store connection back");
    },
  };
}
