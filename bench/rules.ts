import type { Protocol } from "./clients/types.js";
import type { LoadResult } from "./loadGenerator.js";
import type { PartContext } from "./partContext.js";
import { ratioToOff, type ComparedFigures, type RatioToOff } from "./report/ratioToOff.js";
import { rulesTable } from "./report/rulesTable.js";
import type { ScenarioRow } from "./report/types.js";
import { runScenario } from "./runScenario.js";
import { scenarios } from "./scenarios/index.js";
import type { ScenarioName } from "./scenarios/scenario.js";
import { TotpConsumers } from "./scenarios/totpConsumers.js";
import { abuseControlsOff, abuseControlsOn } from "./server/abuseControls.js";
import type { RunningServer } from "./server/serverProcess.js";
import { highestCounters, readTrafficCounters, type TrafficCounters } from "./server/trafficCounters.js";

export type RulesMode = "off" | "on";

/** One mode's windows of one scenario on one protocol, taken together. */
export interface RulesSummary extends ComparedFigures {
  readonly rounds: number;
  readonly measuredSeconds: number;
  /** The windows' mean. */
  readonly p50: number;
  readonly maxMs: number;
  /** Every window's CPU over every window's rounds, µs per round; null when a window has none. */
  readonly cpuPerRoundUs: { readonly server: number; readonly redis: number | null; readonly total: number } | null;
  /** The windows' mean, % of one core. */
  readonly serverCpuPercent: number;
  /** Failures summed over the windows (those with both servers loaded included), as LoadResult counts them. */
  readonly failures: Pick<LoadResult, "errors" | "warmupErrors" | "abandoned" | "dropped">;
}

/** One scenario on one protocol with the abuse controls one way, and how it compares with them off. */
export interface RulesRun {
  readonly mode: RulesMode;
  readonly scenario: ScenarioName;
  readonly protocol: Protocol;
  /** The traffic variables the server ran with, on top of the bench's (server/abuseControls.ts). */
  readonly env: Readonly<Record<string, string>>;
  /** Each measured window on this mode's server, in the order they ran. */
  readonly windows: readonly ScenarioRow[];
  readonly summary: RulesSummary;
  /** The traffic counters in Redis, each at its highest over readings after every window: what the rules were charged. */
  readonly trafficCounters: TrafficCounters;
  /** This mode over "off" on the same scenario and protocol. */
  readonly ratioToOff: RatioToOff;
  /**
   * The windows in which both servers were loaded at once (each by clients of its own), sharing
   * the core and whatever the machine's speed was then: this mode's server CPU over all their
   * rounds, and its ratio to off's in the same windows. Their bench, Postgres and Redis CPU are
   * the machine's, shared by both servers' rounds: not per mode, so not kept.
   */
  readonly together: Together;
}

export interface Together {
  readonly windows: readonly { readonly load: LoadResult; readonly serverCpuPercent: number; readonly serverCpuPerRoundUs: number | null }[];
  readonly serverCpuPerRound: number | null;
  readonly serverCpuPerRoundRatioToOff: number | null;
}

/**
 * The sends the rules judge: an email (only the channel's per-minute cap applies) and a
 * registration OTT by SMS, which is in the public pool whoever asks (the bench asks as a
 * service), so there every rule applies: the destination policy, prefix and country rates, the
 * per-minute cap, the budget in money, the conversion guard, and on consume the run of wrong
 * guesses and the conversion count (one more Redis round trip each).
 */
export const rulesScenarios: readonly ScenarioName[] = ["verification-roundtrip", "token-request-consume"];

/** Warm-up before a server's later windows: its JIT has settled in its first; this only lets the connections and the relay get going. */
const laterWarmupMs = 2_000;

interface Side {
  readonly mode: RulesMode;
  readonly env: Readonly<Record<string, string>>;
  readonly server: RunningServer;
  readonly windows: ScenarioRow[];
  readonly together: ScenarioRow[];
  counters: TrafficCounters;
}

/**
 * `--only rules`: what the abuse controls cost a send, measured (issue 18: at most 10 % more
 * server CPU per round trip). Per scenario and protocol, two fresh servers on the real backend
 * (the rules are read at start), both pinned to the server's CPU like the matrix's, one with the
 * controls off as far as config allows, one with every control on at limits the run never
 * reaches. Only one is loaded at a time, in windows alternating off, on, on, off, ..., so that a
 * machine whose speed drifts over the minutes (other work on it, a noisy host) weighs on both
 * alike; each mode's figures are its windows' together. Then as many windows with both loaded at
 * once: the same instant's machine for both, so their CPU per round compares without the drift.
 */
export async function runRules(context: PartContext): Promise<RulesRun[]> {
  const runs: RulesRun[] = [];
  for (const protocol of context.settings.rulesProtocols) {
    for (const name of rulesScenarios) runs.push(...(await compare(context, protocol, name)));
  }
  context.print(rulesTable(runs));
  return runs;
}

async function compare(context: PartContext, protocol: Protocol, name: ScenarioName): Promise<RulesRun[]> {
  const { settings, progress } = context;
  return context.withServer("real", 1, "rules", (offServer) =>
    context.withServer("real", 1, "rules", async (onServer) => {
      const off: Side = { mode: "off", env: abuseControlsOff, server: offServer, windows: [], together: [], counters: {} };
      const on: Side = { mode: "on", env: abuseControlsOn, server: onServer, windows: [], together: [], counters: {} };
      // Read before the servers stop (a stop removes the keys), after every window (a per-minute key may be gone by the next).
      const readCounters = async (side: Side) => {
        if (side.server.stores !== undefined) side.counters = highestCounters(side.counters, await readTrafficCounters(side.server.stores));
      };
      for (let pair = 0; pair < settings.rulesWindows; pair++) {
        for (const side of pair % 2 === 0 ? [off, on] : [on, off]) {
          const window = side.windows.length + 1;
          progress(`rules/${protocol}: ${name} with the abuse controls ${side.mode}, window ${window} of ${settings.rulesWindows}`);
          const row = await measure(context, side.server, protocol, name, window === 1 ? settings.warmupMs : Math.min(settings.warmupMs, laterWarmupMs));
          const noted: ScenarioRow = { ...row, notes: { ...row.notes, rules: side.mode, window } };
          side.windows.push(noted);
          context.rows.push(noted);
          await readCounters(side);
          const { load } = noted;
          progress(
            `  ${load.roundsPerSecond} rounds/s, p99 ${load.latencyMs.p99} ms, server ${noted.cpuPerRoundUs?.server ?? "-"} us/round, errors ${load.errors}` +
              (load.errorSamples.length > 0 ? ` (${load.errorSamples[0]})` : ""),
          );
        }
      }
      for (let window = 1; window <= settings.rulesWindows; window++) {
        progress(`rules/${protocol}: ${name} on both servers at once, window ${window} of ${settings.rulesWindows}`);
        const warmupMs = Math.min(settings.warmupMs, laterWarmupMs);
        const [offRow, onRow] = await Promise.all([off, on].map((side) => measure(context, side.server, protocol, name, warmupMs)));
        off.together.push(offRow!);
        on.together.push(onRow!);
        await Promise.all([readCounters(off), readCounters(on)]);
        progress(`  server us/round: off ${offRow!.cpuPerRoundUs?.server ?? "-"}, on ${onRow!.cpuPerRoundUs?.server ?? "-"}; errors ${offRow!.load.errors + onRow!.load.errors}`);
      }
      const offSummary = summarize(off.windows, off.together);
      const offTogether = serverCpuPerRound(off.together);
      const done: RulesRun[] = [];
      for (const side of [off, on]) {
        const summary = side === off ? offSummary : summarize(side.windows, side.together);
        const togetherCpu = side === off ? offTogether : serverCpuPerRound(side.together);
        const together: Together = {
          windows: side.together.map((row) => ({ load: row.load, serverCpuPercent: row.server.cpuPercent, serverCpuPerRoundUs: row.cpuPerRoundUs?.server ?? null })),
          serverCpuPerRound: togetherCpu,
          serverCpuPerRoundRatioToOff: togetherCpu === null || offTogether === null || offTogether === 0 ? null : Math.round((togetherCpu / offTogether) * 100) / 100,
        };
        done.push({ mode: side.mode, scenario: name, protocol, env: side.env, windows: side.windows, summary, trafficCounters: side.counters, ratioToOff: ratioToOff(summary, offSummary), together });
      }
      return done;
    }, { env: abuseControlsOn }), { env: abuseControlsOff });
}

/** One closed-loop window of the scenario on `server`, with a client pool of its own. */
async function measure(context: PartContext, server: RunningServer, protocol: Protocol, name: ScenarioName, warmupMs: number): Promise<ScenarioRow> {
  const pool = context.pool(protocol, server.url);
  try {
    return await runScenario({
      section: "rules",
      server,
      pool,
      scenario: scenarios[name],
      concurrency: context.settings.concurrency,
      warmupMs,
      durationMs: context.settings.durationMs,
      mode: { kind: "closed" },
      expectedRoundsPerSecond: undefined,
      totpConsumers: new TotpConsumers(),
    });
  } finally {
    await pool.close();
  }
}

/**
 * CPU per round over every window: each window's CPU (µs per round x its rounds) over all rounds;
 * null when a window has none.
 */
function cpuPerRoundOver(windows: readonly ScenarioRow[], pick: (row: ScenarioRow) => number | null | undefined): number | null {
  let cpu = 0;
  let rounds = 0;
  for (const row of windows) {
    const value = pick(row);
    if (value === null || value === undefined) return null;
    cpu += value * row.load.rounds;
    rounds += row.load.rounds;
  }
  return rounds === 0 ? null : Math.round(cpu / rounds);
}

function serverCpuPerRound(windows: readonly ScenarioRow[]): number | null {
  return cpuPerRoundOver(windows, (row) => row.cpuPerRoundUs?.server);
}

/** The alternating windows' figures; failures also count those of the windows shared with the other server. */
function summarize(windows: readonly ScenarioRow[], together: readonly ScenarioRow[]): RulesSummary {
  const round1 = (value: number) => Math.round(value * 10) / 10;
  const mean = (values: readonly number[]) => (values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length);
  const rounds = windows.reduce((sum, row) => sum + row.load.rounds, 0);
  const measuredSeconds = windows.reduce((sum, row) => sum + row.load.measuredSeconds, 0);
  const perRound = (pick: (row: ScenarioRow) => number | null | undefined) => cpuPerRoundOver(windows, pick);
  const server = perRound((row) => row.cpuPerRoundUs?.server);
  const total = perRound((row) => row.cpuPerRoundUs?.total);
  const sum = (pick: (load: LoadResult) => number) => [...windows, ...together].reduce((count, row) => count + pick(row.load), 0);
  return {
    rounds,
    measuredSeconds,
    roundsPerSecond: measuredSeconds === 0 ? 0 : round1(rounds / measuredSeconds),
    p50: round1(mean(windows.map((row) => row.load.latencyMs.p50))),
    p99: round1(mean(windows.map((row) => row.load.latencyMs.p99))),
    maxMs: Math.max(0, ...windows.map((row) => row.load.latencyMs.max)),
    serverCpuPerRound: server,
    cpuPerRoundUs: server === null || total === null ? null : { server, redis: perRound((row) => row.cpuPerRoundUs?.redis), total },
    serverCpuPercent: round1(mean(windows.map((row) => row.server.cpuPercent))),
    failures: {
      errors: sum((load) => load.errors),
      warmupErrors: sum((load) => load.warmupErrors),
      abandoned: sum((load) => load.abandoned),
      dropped: sum((load) => load.dropped),
    },
  };
}
