import { PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";

/** A collection in the bench process itself, on its performance.now() clock. */
export interface BenchGcPause {
  readonly startMs: number;
  readonly durationMs: number;
}

/**
 * The bench's own garbage collections while a window runs (Node's `gc` performance entries): a
 * pause of the load generator delays the answers it is timing, so a tail RPC that overlaps one
 * was slowed on the client, whatever the server did.
 */
export class BenchGcWatch {
  readonly #pauses: BenchGcPause[] = [];
  readonly #observer = new PerformanceObserver((list) => this.#add(list.getEntries()));

  constructor() {
    this.#observer.observe({ entryTypes: ["gc"] });
  }

  /** Stops watching; the pauses seen, including those whose entries were still queued. */
  stop(): readonly BenchGcPause[] {
    this.#add(this.#observer.takeRecords());
    this.#observer.disconnect();
    return this.#pauses;
  }

  #add(entries: readonly PerformanceEntry[]): void {
    for (const entry of entries) this.#pauses.push({ startMs: entry.startTime, durationMs: entry.duration });
  }
}
