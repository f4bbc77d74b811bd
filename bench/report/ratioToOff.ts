import type { ScenarioRow } from "./types.js";

/** A run over the same scenario and protocol with the feature off: rounds/s, RPC p99, server CPU per round. */
export interface RatioToOff {
  readonly roundsPerSecond: number;
  readonly p99: number;
  /** Null when either run has no CPU per round (no round completed in its window). */
  readonly serverCpuPerRound: number | null;
}

/** `row` over `off`, each ratio to two decimals (0 when the reference is 0). */
export function ratioToOff(row: ScenarioRow, off: ScenarioRow): RatioToOff {
  const ratio = (value: number, reference: number) => (reference > 0 ? Math.round((value / reference) * 100) / 100 : 0);
  const server = row.cpuPerRoundUs?.server;
  const offServer = off.cpuPerRoundUs?.server;
  return {
    roundsPerSecond: ratio(row.load.roundsPerSecond, off.load.roundsPerSecond),
    p99: ratio(row.load.latencyMs.p99, off.load.latencyMs.p99),
    serverCpuPerRound: server === undefined || offServer === undefined ? null : ratio(server, offServer),
  };
}
