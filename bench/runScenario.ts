import { describeFailure } from "./clients/failure.js";
import type { ClientPool } from "./clients/types.js";
import { runLoad, type LoadMode } from "./loadGenerator.js";
import type { CpuPerRound, ScenarioRow, Section } from "./report/types.js";
import type { Scenario } from "./scenarios/scenario.js";
import type { TotpConsumers } from "./scenarios/totpConsumers.js";
import { databaseUrl, redisUrl } from "./server/backends.js";
import { benchPinnedTo } from "./server/cpuPinning.js";
import { CommandCpuWindow } from "./server/procStats.js";
import type { RunningServer } from "./server/serverProcess.js";

export interface RunSpec {
  readonly section: Section;
  readonly server: RunningServer;
  readonly pool: ClientPool;
  readonly scenario: Scenario;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly mode: LoadMode;
  readonly expectedRoundsPerSecond: number | undefined;
  readonly totpConsumers: TotpConsumers;
}

/** Prepares a scenario, drives it, and measures the server (CPU over the window, peak RSS) and the bench process. */
export async function runScenario(spec: RunSpec): Promise<ScenarioRow> {
  const prepared = await spec.scenario.prepare({
    pool: spec.pool,
    backend: spec.server.backend,
    protocol: spec.pool.protocol,
    plannedSeconds: (spec.warmupMs + spec.durationMs) / 1000,
    expectedRoundsPerSecond: spec.expectedRoundsPerSecond,
    totpConsumers: spec.totpConsumers,
  });
  const monitor = spec.server.monitor();
  // The stores' CPU on this machine, over the same window (null when they are not local processes).
  const postgres = new CommandCpuWindow(onThisMachine(databaseUrl()) ? ["postgres"] : []);
  const redis = new CommandCpuWindow(onThisMachine(redisUrl()) ? ["redis-server"] : []);
  let clientCpuAtStart = process.cpuUsage();
  let clientWindowStart = 0;
  let clientCpuPercent = 0;
  let clientCpuSeconds = 0;
  const load = await runLoad(prepared.round, {
    concurrency: spec.concurrency,
    warmupMs: spec.warmupMs,
    durationMs: spec.durationMs,
    mode: spec.mode,
    describeError: describeFailure,
    onMeasureStart: () => {
      monitor.markStart();
      postgres.markStart();
      redis.markStart();
      clientCpuAtStart = process.cpuUsage();
      clientWindowStart = performance.now();
    },
    onMeasureEnd: () => {
      const used = process.cpuUsage(clientCpuAtStart);
      const elapsedMs = performance.now() - clientWindowStart;
      monitor.markEnd();
      postgres.markEnd();
      redis.markEnd();
      clientCpuSeconds = (used.user + used.system) / 1e6;
      clientCpuPercent = elapsedMs > 0 ? Math.round(((used.user + used.system) / 1000 / elapsedMs) * 100) : 0;
    },
  });
  const server = monitor.stop();
  const gone = spec.server.exitedEarly();
  if (gone !== undefined) {
    // SIGTERM with exit code 0 is the server's own graceful shutdown: someone else stopped it.
    throw new Error(
      `the server (pid ${spec.server.pid}) exited during ${spec.scenario.name}/${spec.pool.protocol} (${gone}): crashed, or stopped from outside ` +
        `(e.g. a pkill -f src/main.ts by someone else on this machine); this run's figures are not kept`,
    );
  }
  const opened = spec.pool.connectionsOpened();
  // What the run left for later (the relay sends every queued message), then let it finish so the
  // next run starts on a quiet server.
  const outboxBacklog = await spec.server.outboxBacklog();
  const settleSeconds = await spec.server.settle();
  return {
    section: spec.section,
    scenario: spec.scenario.name,
    protocol: spec.pool.protocol,
    backend: spec.server.backend,
    workers: spec.server.workers,
    rpcsPerRound: spec.scenario.rpcsPerRound,
    load,
    server,
    clientCpuPercent,
    cpuPerRoundUs: perRound(load.rounds, { server: monitor.windowCpuSeconds, bench: clientCpuSeconds, postgres: postgres.seconds, redis: redis.seconds }),
    cpuPinning: { server: spec.server.cpus, bench: benchPinnedTo() },
    connections: { planned: spec.pool.plannedConnections, ...(opened === undefined ? {} : { opened }) },
    ...(outboxBacklog === undefined ? {} : { outboxBacklog }),
    settleSeconds,
    notes: { ...prepared.notes, ...(prepared.after?.() ?? {}) },
  };
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
function perRound(
  rounds: number,
  seconds: { server: number; bench: number; postgres: number | null; redis: number | null },
): CpuPerRound | null {
  if (rounds <= 0) return null;
  const us = (value: number) => Math.round((value * 1e6) / rounds);
  const total = seconds.server + seconds.bench + (seconds.postgres ?? 0) + (seconds.redis ?? 0);
  return {
    server: us(seconds.server),
    bench: us(seconds.bench),
    postgres: seconds.postgres === null ? null : us(seconds.postgres),
    redis: seconds.redis === null ? null : us(seconds.redis),
    total: us(total),
  };
}
