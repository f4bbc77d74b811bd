import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { createRpcMetrics, type RpcMetrics } from "./rpcMetrics.js";
import { createStoreMetrics, type StoreMetrics } from "./storeMetrics.js";

/** Where the metrics port serves the metrics, to GET; never on the API port (see server/metricsServer.ts). */
export const metricsPath = "/metrics";

/**
 * Prometheus metrics, one registry per app so tests and several apps in one process do not
 * share counters. Served at GET /metrics on the metrics port (METRICS_PORT).
 */
export interface Metrics {
  readonly registry: Registry;
  readonly deliveryAttempts: Counter<"kind" | "provider" | "outcome">;
  readonly deliveryDuration: Histogram<"kind" | "provider">;
  readonly verificationEvents: Counter<"event" | "method">;
  /** Every call, refusals before any handler included. */
  readonly rpcs: RpcMetrics;
  /** Every Redis command and Postgres statement, and the queues in front of each store. */
  readonly stores: StoreMetrics;
}

export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    deliveryAttempts: new Counter({
      name: "onetime_delivery_attempts_total",
      help: "Delivery attempts by channel kind, provider and outcome (accepted, rejected, failed).",
      labelNames: ["kind", "provider", "outcome"],
      registers: [registry],
    }),
    deliveryDuration: new Histogram({
      name: "onetime_delivery_duration_seconds",
      help: "Time a provider took to answer a delivery attempt.",
      labelNames: ["kind", "provider"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    verificationEvents: new Counter({
      name: "onetime_verification_events_total",
      help: "Verification events (initiated, validated, wrong_code, locked, not_found) by method.",
      labelNames: ["event", "method"],
      registers: [registry],
    }),
    rpcs: createRpcMetrics(registry),
    stores: createStoreMetrics(registry),
  };
}
