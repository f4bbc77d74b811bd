import type { Protocol } from "./clients/types.js";
import type { PartContext } from "./partContext.js";
import { ratioToOff, type RatioToOff } from "./report/ratioToOff.js";
import { rulesTable } from "./report/rulesTable.js";
import type { ScenarioRow } from "./report/types.js";
import { runScenario } from "./runScenario.js";
import { scenarios } from "./scenarios/index.js";
import type { ScenarioName } from "./scenarios/scenario.js";
import { TotpConsumers } from "./scenarios/totpConsumers.js";
import { abuseControlsOff, abuseControlsOn } from "./server/abuseControls.js";
import { readTrafficCounters, type TrafficCounters } from "./server/trafficCounters.js";

export type RulesMode = "off" | "on";

/** One scenario on one protocol with the abuse controls one way, and how it compares with them off. */
export interface RulesRun {
  readonly mode: RulesMode;
  readonly scenario: ScenarioName;
  readonly protocol: Protocol;
  /** The traffic variables the server ran with, on top of the bench's (server/abuseControls.ts). */
  readonly env: Readonly<Record<string, string>>;
  readonly row: ScenarioRow;
  /** The traffic counters in Redis when the run ended (warm-up and window): what the rules were charged. */
  readonly trafficCounters: TrafficCounters;
  /** This run over the "off" run of the same scenario and protocol. */
  readonly ratioToOff: RatioToOff | null;
}

/**
 * The sends the rules judge: an email (only the channel's per-minute cap applies) and a
 * registration OTT by SMS, which is in the public pool whoever asks (the bench asks as a
 * service), so there every rule applies: the destination policy, prefix and country rates, the
 * per-minute cap, the budget in money, the conversion guard, and on consume the run of wrong
 * guesses and the conversion count (one more Redis round trip each).
 */
export const rulesScenarios: readonly ScenarioName[] = ["verification-roundtrip", "token-request-consume"];

/** In the order they run: off first, the reference. */
const modes: readonly { readonly mode: RulesMode; readonly env: Readonly<Record<string, string>> }[] = [
  { mode: "off", env: abuseControlsOff },
  { mode: "on", env: abuseControlsOn },
];

/**
 * `--only rules`: what the abuse controls cost a send, measured (issue 18: at most 10 % more
 * server CPU per round trip). Each scenario on the real backend, one worker pinned like the
 * matrix's, against a fresh server per mode (the rules are read at start): the controls off as
 * far as config allows, then every one on at limits the run never reaches.
 */
export async function runRules(context: PartContext): Promise<RulesRun[]> {
  const { settings, progress } = context;
  const runs: RulesRun[] = [];
  for (const protocol of settings.rulesProtocols) {
    for (const name of rulesScenarios) {
      let off: ScenarioRow | undefined;
      for (const { mode, env } of modes) {
        const measured = await context.withServer("real", 1, "rules", async (server) => {
          progress(`rules/${protocol}: ${name} with the abuse controls ${mode}`);
          const pool = context.pool(protocol, server.url);
          try {
            const row = await runScenario({
              section: "rules",
              server,
              pool,
              scenario: scenarios[name],
              concurrency: settings.concurrency,
              warmupMs: settings.warmupMs,
              durationMs: settings.durationMs,
              mode: { kind: "closed" },
              expectedRoundsPerSecond: undefined,
              totpConsumers: new TotpConsumers(),
            });
            // Read before the server stops: its stop removes the keys.
            return { row, trafficCounters: server.stores === undefined ? {} : await readTrafficCounters(server.stores) };
          } finally {
            await pool.close();
          }
        }, { env });
        const noted: ScenarioRow = { ...measured.row, notes: { ...measured.row.notes, rules: mode } };
        context.rows.push(noted);
        if (mode === "off") off = noted;
        runs.push({ mode, scenario: name, protocol, env, row: noted, trafficCounters: measured.trafficCounters, ratioToOff: off === undefined ? null : ratioToOff(noted, off) });
        const { load } = noted;
        progress(
          `  ${load.roundsPerSecond} rounds/s, p99 ${load.latencyMs.p99} ms, server ${noted.cpuPerRoundUs?.server ?? "-"} us/round, errors ${load.errors}` +
            (load.errorSamples.length > 0 ? ` (${load.errorSamples[0]})` : ""),
        );
      }
    }
  }
  context.print(rulesTable(runs));
  return runs;
}
