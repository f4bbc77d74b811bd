import type { Protocol } from "./clients/types.js";
import type { PartContext } from "./partContext.js";
import type { ScenarioRow } from "./report/types.js";
import { runScenario } from "./runScenario.js";
import { scenarios } from "./scenarios/index.js";
import { TotpConsumers } from "./scenarios/totpConsumers.js";
import type { Backend } from "./server/backends.js";
import { cpuSeconds, processTree } from "./server/procStats.js";
import type { RawConnectServer } from "./server/rawServerProcess.js";
import type { RunningServer } from "./server/serverProcess.js";

/** Issue 22: the full stack's Health/Check at this share or more of raw connect-node's, per protocol. */
export const rawConnectTarget = 0.85;

/** The full stack's bare run and raw connect-node's on one protocol, one after the other on the same core. */
export interface RawConnectRun {
  readonly protocol: Protocol;
  /** The onetime server's backend (bare touches no storage either way). */
  readonly backend: Backend;
  readonly fullStack: ScenarioRow;
  readonly raw: ScenarioRow;
  /** Full stack req/s over raw's: what the target is judged on. */
  readonly ratio: number;
  /** Raw's server CPU per call over the full stack's: the same ratio read from cost, which a client-bound run cannot flatter. Null without CPU figures. */
  readonly cpuRatio: number | null;
}

/**
 * Runs bare against the raw connect-node server with the same client kind, pool size, warm-up
 * and window as the full stack's bare run just before it, and pairs the two. The onetime server
 * stays up, idle, on the same core meanwhile (as the raw one idled during its run): its CPU over
 * the raw run (warm-up, window and settling) is kept in the raw row's notes
 * (`onetimeIdleCpuPercent`, % of a core): what it took from the raw server.
 */
export async function pairWithRawConnect(
  context: PartContext,
  raw: RawConnectServer,
  onetime: RunningServer,
  fullStack: ScenarioRow,
): Promise<RawConnectRun> {
  const { settings, progress } = context;
  const protocol = fullStack.protocol;
  progress(`raw connect-node/${protocol}: bare`);
  const pool = context.pool(protocol, raw.urlFor(protocol));
  // Read at both ends only: a sampling monitor would cost the bench CPU the full stack's run did not pay.
  const onetimeCpu = () => [...cpuSeconds(processTree(onetime.pid)).values()].reduce((sum, seconds) => sum + seconds, 0);
  const neighbourFrom = onetimeCpu();
  const began = performance.now();
  let row: ScenarioRow;
  try {
    row = await runScenario({
      section: "raw-connect",
      server: raw,
      pool,
      scenario: scenarios.bare,
      concurrency: settings.concurrency,
      warmupMs: settings.warmupMs,
      durationMs: settings.durationMs,
      mode: { kind: "closed" },
      expectedRoundsPerSecond: undefined,
      totpConsumers: new TotpConsumers(),
    });
  } finally {
    await pool.close();
  }
  const onetimeIdleCpuPercent = Math.round(((onetimeCpu() - neighbourFrom) / ((performance.now() - began) / 1000)) * 1000) / 10;
  const noted: ScenarioRow = { ...row, notes: { ...row.notes, server: "raw connect-node", onetimeIdleCpuPercent } };
  context.rows.push(noted);
  const run = pair(onetime.backend, fullStack, noted);
  progress(
    `  ${row.load.rpcPerSecond} req/s, p99 ${row.load.latencyMs.p99} ms, server ${row.cpuPerRoundUs?.server ?? "-"} us/call, errors ${row.load.errors}; ` +
      `full stack ${run.ratio.toFixed(2)}x raw (CPU per call: ${run.cpuRatio?.toFixed(2) ?? "-"}x)`,
  );
  return run;
}

function pair(backend: Backend, fullStack: ScenarioRow, raw: ScenarioRow): RawConnectRun {
  const rawRate = raw.load.rpcPerSecond;
  const fullCpu = fullStack.cpuPerRoundUs?.server;
  const rawCpu = raw.cpuPerRoundUs?.server;
  return {
    protocol: fullStack.protocol,
    backend,
    fullStack,
    raw,
    ratio: rawRate > 0 ? round2(fullStack.load.rpcPerSecond / rawRate) : 0,
    cpuRatio: fullCpu === undefined || rawCpu === undefined || fullCpu === 0 ? null : round2(rawCpu / fullCpu),
  };
}

const round2 = (value: number) => Math.round(value * 100) / 100;
