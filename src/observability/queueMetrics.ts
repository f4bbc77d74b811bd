import { Gauge, type Registry } from "prom-client";
import type { Backlog, MessageQueue } from "../delivery/messageQueue.js";
import type { Logger } from "./logger.js";

/** Scrapes read both gauges; within this long they share one read of the queues. */
const readShareMs = 1_000;

/**
 * Each message queue's backlog, read when /metrics is scraped: a depth that keeps growing or an
 * oldest message that keeps ageing means delivery is stuck (a provider down, no relay running).
 * A queue that cannot be read (its store down) keeps its last figures, and says so in the log.
 * Every worker reads the same shared queues: across workers their figures are one, not a sum.
 */
export function registerQueueMetrics(registry: Registry, queues: Readonly<Record<string, MessageQueue>>, logger: Logger): void {
  let last: { at: number; read: Promise<Map<string, Backlog>> } | undefined;
  const backlogs = () => {
    if (last === undefined || Date.now() - last.at > readShareMs) last = { at: Date.now(), read: readAll() };
    return last.read;
  };
  const readAll = async () => {
    const read = new Map<string, Backlog>();
    await Promise.all(
      Object.entries(queues).map(async ([queue, source]) => {
        try {
          read.set(queue, await source.backlog());
        } catch (error) {
          logger.warn({ err: error, queue }, "could not read the queue's backlog for /metrics");
        }
      }),
    );
    return read;
  };
  new Gauge({
    name: "onetime_queue_messages",
    help: "Messages not yet sent nor given up (waiting, leased to a relay, or due for a retry), by queue (outbox: Postgres; secrets: beside the codes).",
    labelNames: ["queue"],
    registers: [registry],
    aggregator: "max",
    async collect() {
      for (const [queue, backlog] of await backlogs()) this.set({ queue }, backlog.waiting);
    },
  });
  new Gauge({
    name: "onetime_queue_oldest_age_seconds",
    help: "Age of the oldest message not yet sent nor given up, by queue; 0 when none waits.",
    labelNames: ["queue"],
    registers: [registry],
    aggregator: "max",
    async collect() {
      for (const [queue, backlog] of await backlogs()) {
        this.set({ queue }, backlog.oldestQueuedAt === null ? 0 : Math.max(0, (Date.now() - backlog.oldestQueuedAt.getTime()) / 1000));
      }
    },
  });
}
