import { performance } from "node:perf_hooks";
import { BenchGcWatch } from "./benchGc.js";
import { describeFailure } from "./clients/failure.js";
import type { ClientPool } from "./clients/types.js";
import { summarizeGcWindow } from "./gcWindow.js";
import { runLoad, type LoadMode } from "./loadGenerator.js";
import { cpuPerRound, MachineCpuWindow } from "./machineCpu.js";
import type { ScenarioRow, Section } from "./report/types.js";
import type { Scenario } from "./scenarios/scenario.js";
import type { TotpConsumers } from "./scenarios/totpConsumers.js";
import { benchPinnedTo } from "./server/cpuPinning.js";
import type { MeasuredServer } from "./server/serverProcess.js";

export interface RunSpec {
  readonly section: Section;
  readonly server: MeasuredServer;
  readonly pool: ClientPool;
  readonly scenario: Scenario;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly mode: LoadMode;
  readonly expectedRoundsPerSecond: number | undefined;
  readonly totpConsumers: TotpConsumers;
}

/**
 * Prepares a scenario, drives it, and measures the server (CPU over the window, peak RSS) and the
 * bench process; with a server started under --trace-gc, its collections over the window too.
 */
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
  const machine = new MachineCpuWindow();
  const gcTrace = spec.server.gcTrace;
  const benchGc = gcTrace === undefined ? undefined : new BenchGcWatch();
  const rpcIntervals: number[] = [];
  const window = { fromMs: 0, toMs: 0 };
  const load = await runLoad(prepared.round, {
    concurrency: spec.concurrency,
    warmupMs: spec.warmupMs,
    durationMs: spec.durationMs,
    mode: spec.mode,
    describeError: describeFailure,
    ...(gcTrace === undefined ? {} : { rpcIntervals }),
    onMeasureStart: () => {
      window.fromMs = performance.now();
      monitor.markStart();
      machine.markStart();
    },
    onMeasureEnd: () => {
      monitor.markEnd();
      machine.markEnd();
      window.toMs = performance.now();
    },
  });
  const server = monitor.stop();
  const benchPauses = benchGc?.stop() ?? [];
  const gc = gcTrace === undefined ? undefined : summarizeGcWindow(gcTrace.between(window.fromMs, window.toMs), benchPauses, window, rpcIntervals);
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
    clientCpuPercent: machine.benchPercent,
    cpuPerRoundUs: cpuPerRound(load.rounds, monitor.windowCpuSeconds, machine.seconds),
    cpuPinning: { server: spec.server.cpus, bench: benchPinnedTo() },
    connections: { planned: spec.pool.plannedConnections, ...(opened === undefined ? {} : { opened }) },
    ...(outboxBacklog === undefined ? {} : { outboxBacklog }),
    settleSeconds,
    ...(gc === undefined ? {} : { gc }),
    notes: { ...prepared.notes, ...(prepared.after?.() ?? {}) },
  };
}
