import type { LatencySamples, LoadResult } from "./loadGenerator.js";
import { cpuPerRound, type MachineCpuSeconds } from "./machineCpu.js";
import type { CpuPerRound } from "./report/types.js";
import type { ServerCost } from "./server/procStats.js";
import { emptySummary, round1, summarize } from "./stats.js";

/** What one instance served and cost while every instance was driven at once. */
export interface InstanceShare {
  readonly url: string;
  readonly load: LoadResult;
  readonly server: ServerCost;
  /** CPU seconds of this instance's process tree over the window. */
  readonly serverCpuSeconds: number;
  /** Those seconds per round this instance served, in microseconds (null: no round). */
  readonly serverCpuUsPerRound: number | null;
  /** Outbox messages this deployment had not delivered when the run ended (real backend). */
  readonly outboxBacklog?: number;
  readonly settleSeconds: number;
}

/**
 * The instances as one service: what a caller of the deployment saw (counts added up; latency
 * percentiles over every instance's samples together, not an average of percentiles), and what
 * it cost the machine.
 */
export interface Aggregate
  extends Pick<LoadResult, "rpcs" | "rounds" | "rpcPerSecond" | "roundsPerSecond" | "errors" | "warmupErrors" | "expectedFailures" | "abandoned" | "dropped" | "latencyMs" | "roundLatencyMs" | "errorSamples"> {
  /** Summed over the instances, in % of one core. */
  readonly serverCpuPercent: number;
  readonly benchCpuPercent: number;
  /** Every instance's CPU, the bench's, Postgres's and Redis's, over every round served. */
  readonly cpuPerRoundUs: CpuPerRound | null;
}

/** Adds the instances' counts, merges their latency samples, and spreads the machine's CPU over all rounds. */
export function aggregateInstances(shares: readonly InstanceShare[], samples: LatencySamples, machine: MachineCpuSeconds, benchCpuPercent: number): Aggregate {
  const sum = (pick: (load: LoadResult) => number) => shares.reduce((total, share) => total + pick(share.load), 0);
  const measuredSeconds = shares[0]?.load.measuredSeconds ?? 0;
  const rpcs = sum((load) => load.rpcs);
  const rounds = sum((load) => load.rounds);
  const serverSeconds = shares.reduce((total, share) => total + share.serverCpuSeconds, 0);
  return {
    rpcs,
    rounds,
    rpcPerSecond: measuredSeconds > 0 ? round1(rpcs / measuredSeconds) : 0,
    roundsPerSecond: measuredSeconds > 0 ? round1(rounds / measuredSeconds) : 0,
    errors: sum((load) => load.errors),
    warmupErrors: sum((load) => load.warmupErrors),
    expectedFailures: sum((load) => load.expectedFailures),
    abandoned: sum((load) => load.abandoned),
    dropped: sum((load) => load.dropped),
    latencyMs: samples.rpc.length === 0 ? emptySummary : summarize(samples.rpc),
    roundLatencyMs: samples.round.length === 0 ? emptySummary : summarize(samples.round),
    serverCpuPercent: shares.reduce((total, share) => total + share.server.cpuPercent, 0),
    benchCpuPercent,
    cpuPerRoundUs: cpuPerRound(rounds, serverSeconds, machine),
    errorSamples: [...new Set(shares.flatMap((share) => share.load.errorSamples))].slice(0, 5),
  };
}
