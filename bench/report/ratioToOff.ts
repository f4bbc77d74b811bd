import type { ScenarioRow } from "./types.js";

/** What a feature's cost is read from: one run's figures, or several runs' together. */
export interface ComparedFigures {
  readonly roundsPerSecond: number;
  /** RPC latency p99, ms. */
  readonly p99: number;
  /** Server CPU per round, µs; null when no round completed in the window. */
  readonly serverCpuPerRound: number | null;
}

/** A run over the same scenario and protocol with the feature off: rounds/s, RPC p99, server CPU per round. */
export interface RatioToOff {
  readonly roundsPerSecond: number;
  readonly p99: number;
  /** Null when either run has no CPU per round. */
  readonly serverCpuPerRound: number | null;
}

export function figuresOf(row: ScenarioRow): ComparedFigures {
  return { roundsPerSecond: row.load.roundsPerSecond, p99: row.load.latencyMs.p99, serverCpuPerRound: row.cpuPerRoundUs?.server ?? null };
}

/** `figures` over `off`, each ratio to two decimals (0 when the reference is 0). */
export function ratioToOff(figures: ComparedFigures, off: ComparedFigures): RatioToOff {
  const ratio = (value: number, reference: number) => (reference > 0 ? Math.round((value / reference) * 100) / 100 : 0);
  const server = figures.serverCpuPerRound;
  const offServer = off.serverCpuPerRound;
  return {
    roundsPerSecond: ratio(figures.roundsPerSecond, off.roundsPerSecond),
    p99: ratio(figures.p99, off.p99),
    serverCpuPerRound: server === null || offServer === null ? null : ratio(server, offServer),
  };
}
