import type { Protocol } from "./clients/types.js";
import type { PartContext } from "./partContext.js";
import type { ScenarioRow } from "./report/types.js";
import { runScenario } from "./runScenario.js";
import { scenarios } from "./scenarios/index.js";
import { TotpConsumers } from "./scenarios/totpConsumers.js";
import type { Backend } from "./server/backends.js";
import { cpuSeconds, processTree } from "./server/procStats.js";
import type { RawConnectServer } from "./server/rawServerProcess.js";
import type { MeasuredServer, RunningServer } from "./server/serverProcess.js";

/** Issue 22: the full stack's Health/Check at this share or more of raw connect-node's, per protocol. */
export const rawConnectTarget = 0.85;

/**
 * The full stack's bare run and raw connect-node's on one protocol, on the same core, in four
 * windows: full stack, raw, raw, full stack. Measured in that order, a machine whose speed drifts
 * steadily over the four favours neither side; one pair alone moved the ratio by ±0.15 from run to
 * run on this 2-core machine.
 */
export interface RawConnectRun {
  readonly protocol: Protocol;
  /** The onetime server's backend (bare touches no storage either way). */
  readonly backend: Backend;
  /** The full stack's first window: the matrix's bare run. */
  readonly fullStack: ScenarioRow;
  /** Raw connect-node's first window, right after it. */
  readonly raw: ScenarioRow;
  /** Raw's second window, then the full stack's. */
  readonly rawAgain: ScenarioRow;
  readonly fullStackAgain: ScenarioRow;
  /** Full stack req/s over raw's, both windows of each summed: what the target is judged on. */
  readonly ratio: number;
  /** Each side's first window against the other's nearest: full/raw, then full again/raw again. */
  readonly windowRatios: readonly [number, number];
  /** Raw's server CPU per call over the full stack's, each the mean of its windows: the same ratio read from cost, which a client-bound run cannot flatter. Null without CPU figures. */
  readonly cpuRatio: number | null;
}

/**
 * Runs bare against the raw connect-node server twice, then against the full stack once more,
 * with the same client kind, pool size, warm-up and window as the full stack's bare run just
 * before them. Each server stays up, idle, on the same core while the other is loaded: the
 * onetime server's CPU over each raw window (warm-up, window and settling) is kept in the raw
 * row's notes (`onetimeIdleCpuPercent`, % of a core): what it took from the raw server.
 */
export async function pairWithRawConnect(
  context: PartContext,
  raw: RawConnectServer,
  onetime: RunningServer,
  fullStack: ScenarioRow,
): Promise<RawConnectRun> {
  const { progress } = context;
  const protocol = fullStack.protocol;
  const rawWindows: ScenarioRow[] = [];
  for (const again of ["", ", again"]) {
    progress(`raw connect-node/${protocol}: bare${again}`);
    const row = await rawWindow(context, raw, onetime, protocol);
    progress(`  ${row.load.rpcPerSecond} req/s, p99 ${row.load.latencyMs.p99} ms, server ${row.cpuPerRoundUs?.server ?? "-"} us/call, errors ${row.load.errors}`);
    rawWindows.push(row);
  }
  progress(`${onetime.backend}/${protocol}/w${onetime.workers}: bare, again (after raw connect-node)`);
  const fullStackAgain = await bareWindow(context, onetime, onetime.url, protocol);
  const noted: ScenarioRow = { ...fullStackAgain, notes: { ...fullStackAgain.notes, server: "onetime, again" } };
  context.rows.push(noted);
  const run = pair(onetime.backend, fullStack, rawWindows[0]!, rawWindows[1]!, noted);
  progress(
    `  ${noted.load.rpcPerSecond} req/s, p99 ${noted.load.latencyMs.p99} ms, errors ${noted.load.errors}; ` +
      `full stack ${run.ratio.toFixed(2)}x raw (windows ${run.windowRatios.map((ratio) => ratio.toFixed(2)).join(", ")}; CPU per call: ${run.cpuRatio?.toFixed(2) ?? "-"}x)`,
  );
  return run;
}

async function rawWindow(context: PartContext, raw: RawConnectServer, onetime: RunningServer, protocol: Protocol): Promise<ScenarioRow> {
  // Read at both ends only: a sampling monitor would cost the bench CPU the full stack's run did not pay.
  const onetimeCpu = () => [...cpuSeconds(processTree(onetime.pid)).values()].reduce((sum, seconds) => sum + seconds, 0);
  const neighbourFrom = onetimeCpu();
  const began = performance.now();
  const row = await bareWindow(context, raw, raw.urlFor(protocol), protocol);
  const onetimeIdleCpuPercent = Math.round(((onetimeCpu() - neighbourFrom) / ((performance.now() - began) / 1000)) * 1000) / 10;
  const noted: ScenarioRow = { ...row, notes: { ...row.notes, server: "raw connect-node", onetimeIdleCpuPercent } };
  context.rows.push(noted);
  return noted;
}

/** One bare run in the raw-connect section (warm-up and window as the matrix's). */
async function bareWindow(context: PartContext, server: MeasuredServer, url: string, protocol: Protocol): Promise<ScenarioRow> {
  const { settings } = context;
  const pool = context.pool(protocol, url);
  try {
    return await runScenario({
      section: "raw-connect",
      server,
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
}

function pair(backend: Backend, fullStack: ScenarioRow, raw: ScenarioRow, rawAgain: ScenarioRow, fullStackAgain: ScenarioRow): RawConnectRun {
  const rate = (row: ScenarioRow) => row.load.rpcPerSecond;
  const ratioOf = (full: number, rawRate: number) => (rawRate > 0 ? round2(full / rawRate) : 0);
  const cpu = (rows: readonly ScenarioRow[]) => {
    const figures = rows.map((row) => row.cpuPerRoundUs?.server);
    return figures.every((figure): figure is number => figure !== undefined) ? figures.reduce((sum, figure) => sum + figure, 0) / figures.length : undefined;
  };
  const fullCpu = cpu([fullStack, fullStackAgain]);
  const rawCpu = cpu([raw, rawAgain]);
  return {
    protocol: fullStack.protocol,
    backend,
    fullStack,
    raw,
    rawAgain,
    fullStackAgain,
    ratio: ratioOf(rate(fullStack) + rate(fullStackAgain), rate(raw) + rate(rawAgain)),
    windowRatios: [ratioOf(rate(fullStack), rate(raw)), ratioOf(rate(fullStackAgain), rate(rawAgain))],
    cpuRatio: fullCpu === undefined || rawCpu === undefined || fullCpu === 0 ? null : round2(rawCpu / fullCpu),
  };
}

const round2 = (value: number) => Math.round(value * 100) / 100;
