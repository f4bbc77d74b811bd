import type { CpuPerRound } from "./report/types.js";
import { databaseUrl, redisUrl } from "./server/backends.js";
import { CommandCpuWindow } from "./server/procStats.js";

/** CPU seconds over one measured window of what shares the machine with the servers under test. */
export interface MachineCpuSeconds {
  /** The bench process itself (the load generator). */
  readonly bench: number;
  /** Every local `postgres` process; null when Postgres is not a local process. */
  readonly postgres: number | null;
  /** `redis-server`; null when Redis is not a local process. */
  readonly redis: number | null;
}

/**
 * The CPU the bench process, the local Postgres and the local Redis use between `markStart` and
 * `markEnd`: the same moments the servers' ProcessMonitors use, so per-round costs add up.
 */
export class MachineCpuWindow {
  readonly #postgres = new CommandCpuWindow(onThisMachine(databaseUrl()) ? ["postgres"] : []);
  readonly #redis = new CommandCpuWindow(onThisMachine(redisUrl()) ? ["redis-server"] : []);
  #benchAtStart = process.cpuUsage();
  #startedAt = 0;
  #benchSeconds = 0;
  #benchPercent = 0;

  markStart(): void {
    this.#postgres.markStart();
    this.#redis.markStart();
    this.#benchAtStart = process.cpuUsage();
    this.#startedAt = performance.now();
  }

  markEnd(): void {
    const used = process.cpuUsage(this.#benchAtStart);
    const elapsedMs = performance.now() - this.#startedAt;
    this.#postgres.markEnd();
    this.#redis.markEnd();
    this.#benchSeconds = (used.user + used.system) / 1e6;
    this.#benchPercent = elapsedMs > 0 ? Math.round(((used.user + used.system) / 1000 / elapsedMs) * 100) : 0;
  }

  get seconds(): MachineCpuSeconds {
    return { bench: this.#benchSeconds, postgres: this.#postgres.seconds, redis: this.#redis.seconds };
  }

  /** The bench process's CPU over the window, in % of one core. */
  get benchPercent(): number {
    return this.#benchPercent;
  }
}

/** Whether a store's URL points at this machine (loopback, or a Unix socket): only then are its local processes the ones the server uses. */
function onThisMachine(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return false;
  }
  return host === "" || host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** CPU seconds over the window → integer microseconds per round; `total` sums the known ones. */
export function cpuPerRound(rounds: number, serverSeconds: number, machine: MachineCpuSeconds): CpuPerRound | null {
  if (rounds <= 0) return null;
  const us = (value: number) => Math.round((value * 1e6) / rounds);
  const total = serverSeconds + machine.bench + (machine.postgres ?? 0) + (machine.redis ?? 0);
  return {
    server: us(serverSeconds),
    bench: us(machine.bench),
    postgres: machine.postgres === null ? null : us(machine.postgres),
    redis: machine.redis === null ? null : us(machine.redis),
    total: us(total),
  };
}
