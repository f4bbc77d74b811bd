import { AggregatorRegistry, type Registry } from "prom-client";
import type { MetricsSource } from "../server/metricsServer.js";

/**
 * Several workers (WORKERS > 1) each count in a registry of their own; the primary serves the
 * metrics port, asking every worker for its metrics over the cluster's IPC channel at each scrape
 * and summing them (a metric that declares another aggregator, such as a shared queue's depth,
 * is combined that way instead). prom-client does the asking and the answering.
 */

/** In the primary: every live worker's metrics, combined. A worker that does not answer within 5 s fails the scrape. */
export function workersMetrics(): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return { contentType: aggregator.contentType, read: () => aggregator.clusterMetrics() };
}

/**
 * In a worker, first thing: answers the primary's requests from now on, with nothing until the
 * returned function is given this worker's registry, so a worker still starting (or replacing one
 * that died) does not hold up every scrape until it is built.
 */
export function answerPrimaryForMetrics(): (registry: Registry) => void {
  const nothingYet = new AggregatorRegistry();
  // Constructing one is what makes prom-client answer the primary in a worker; until the app's
  // registry exists, it answers with this empty one rather than prom-client's global registry.
  AggregatorRegistry.setRegistries([nothingYet]);
  return (registry) => AggregatorRegistry.setRegistries([registry]);
}
