import { describeFailure } from "./clients/failure.js";
import type { ClientPool } from "./clients/types.js";
import { aggregateInstances, type Aggregate, type InstanceShare } from "./instanceAggregate.js";
import { runLoad, type LatencySamples } from "./loadGenerator.js";
import { MachineCpuWindow } from "./machineCpu.js";
import type { Scenario } from "./scenarios/scenario.js";
import type { TotpConsumers } from "./scenarios/totpConsumers.js";
import type { RunningServer } from "./server/serverProcess.js";

/** One instance and the clients that talk only to it. */
export interface InstanceTarget {
  readonly server: RunningServer;
  readonly pool: ClientPool;
  readonly totpConsumers: TotpConsumers;
}

export interface AcrossSpec {
  readonly targets: readonly InstanceTarget[];
  readonly scenario: Scenario;
  /** Closed-loop clients per instance. */
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Sizes TOTP pools, per instance. */
  readonly expectedRoundsPerSecond: number | undefined;
}

/**
 * Drives every instance at once, each with a load generator and client pool of its own, started in
 * the same instant so their warm-ups and measured windows coincide. Each instance's own CPU is
 * read from its process tree; the bench's, Postgres's and Redis's once, over the first window.
 */
export async function runAcrossInstances(spec: AcrossSpec): Promise<{ perInstance: InstanceShare[]; aggregate: Aggregate }> {
  const prepared = await Promise.all(
    spec.targets.map((target) =>
      spec.scenario.prepare({
        pool: target.pool,
        backend: target.server.backend,
        protocol: target.pool.protocol,
        plannedSeconds: (spec.warmupMs + spec.durationMs) / 1000,
        expectedRoundsPerSecond: spec.expectedRoundsPerSecond,
        totpConsumers: target.totpConsumers,
      }),
    ),
  );
  const monitors = spec.targets.map((target) => target.server.monitor());
  const machine = new MachineCpuWindow();
  const samples: LatencySamples = { rpc: [], round: [] };
  const loads = await Promise.all(
    prepared.map((scenario, i) =>
      runLoad(scenario.round, {
        concurrency: spec.concurrency,
        warmupMs: spec.warmupMs,
        durationMs: spec.durationMs,
        mode: { kind: "closed" },
        describeError: describeFailure,
        latencySink: samples,
        onMeasureStart: () => {
          monitors[i]!.markStart();
          if (i === 0) machine.markStart();
        },
        onMeasureEnd: () => {
          monitors[i]!.markEnd();
          if (i === 0) machine.markEnd();
        },
      }),
    ),
  );
  const costs = monitors.map((monitor) => monitor.stop());
  for (const { server } of spec.targets) {
    const gone = server.exitedEarly();
    if (gone !== undefined) throw new Error(`the server at ${server.url} (pid ${server.pid}) exited during ${spec.scenario.name} (${gone}); this run's figures are not kept`);
  }
  // One deployment, one outbox: the backlog is read once; then every instance settles.
  const outboxBacklog = await spec.targets[0]!.server.outboxBacklog();
  const settled = await Promise.all(spec.targets.map((target) => target.server.settle()));
  const perInstance = spec.targets.map((target, i): InstanceShare => {
    const load = loads[i]!;
    const seconds = monitors[i]!.windowCpuSeconds;
    return {
      url: target.server.url,
      load,
      server: costs[i]!,
      serverCpuSeconds: seconds,
      serverCpuUsPerRound: load.rounds > 0 ? Math.round((seconds * 1e6) / load.rounds) : null,
      ...(i === 0 && outboxBacklog !== undefined ? { outboxBacklog } : {}),
      settleSeconds: settled[i]!,
    };
  });
  return { perInstance, aggregate: aggregateInstances(perInstance, samples, machine.seconds, machine.benchPercent) };
}
