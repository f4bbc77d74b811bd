import type { RulesRun } from "../rules.js";
import { describeTrafficCounters } from "../server/trafficCounters.js";
import { errorCell, pinningNote } from "./format.js";
import { fixed, ms, renderTable } from "./table.js";

/** Issue 18: the abuse controls on cost at most 10 % more server CPU per round trip than off. */
export const rulesCpuTarget = 1.1;

/** PASS/MISS of an "on" run against the target, on the CPU ratio with both servers loaded at once; undefined for "off" or unmeasured. */
export function rulesVerdict(run: RulesRun): "PASS" | "MISS" | undefined {
  const ratio = run.together.serverCpuPerRoundRatioToOff;
  if (run.mode === "off" || ratio === null) return undefined;
  return ratio <= rulesCpuTarget ? "PASS" : "MISS";
}

/** Each scenario with the abuse controls off and on (each mode's windows together), and on's ratio to off. */
export function rulesTable(runs: readonly RulesRun[]): string {
  const ratio = (value: number | null) => (value === null ? "-" : value.toFixed(2));
  const first = runs[0]?.windows[0];
  if (first === undefined) return "";
  const table = renderTable(
    `Abuse controls: off against on, real backend, WORKERS=1, ${first.load.concurrency} clients, ` +
      `${runs[0]!.windows.length} window${runs[0]!.windows.length === 1 ? "" : "s"} of ${first.load.measuredSeconds} s per mode alternating, as many with both at once`,
    [
      "rules",
      "scenario",
      "protocol",
      "rounds/s",
      "x off",
      "p50 ms",
      "p99 ms",
      "x off",
      "max ms",
      "errors",
      "srv CPU %",
      "srv us/rnd",
      "x off",
      "per window",
      "both: srv us/rnd",
      "x off",
      `<=${rulesCpuTarget.toFixed(2)}`,
      "redis us/rnd",
      "total us/rnd",
      "traffic counted",
    ],
    runs.map((run) => {
      const { summary } = run;
      const togetherRatio = run.together.serverCpuPerRoundRatioToOff;
      const redis = summary.cpuPerRoundUs?.redis ?? null;
      return [
        run.mode,
        run.scenario,
        run.protocol,
        fixed(summary.roundsPerSecond),
        ratio(run.ratioToOff.roundsPerSecond),
        ms(summary.p50),
        ms(summary.p99),
        ratio(run.ratioToOff.p99),
        ms(summary.maxMs),
        errorCell(summary.failures),
        fixed(summary.serverCpuPercent),
        summary.cpuPerRoundUs === null ? "-" : String(summary.cpuPerRoundUs.server),
        ratio(run.ratioToOff.serverCpuPerRound),
        run.windows.map((row) => (row.cpuPerRoundUs === null ? "-" : String(row.cpuPerRoundUs.server))).join(" "),
        run.together.serverCpuPerRound === null ? "-" : String(run.together.serverCpuPerRound),
        ratio(togetherRatio),
        rulesVerdict(run) ?? "",
        redis === null ? "-" : String(redis),
        summary.cpuPerRoundUs === null ? "-" : String(summary.cpuPerRoundUs.total),
        describeTrafficCounters(run.trafficCounters),
      ];
    }),
  );
  const footnote =
    "off: EMAIL_PER_MINUTE_LIMIT, SMS_PER_MINUTE_LIMIT, SMS_PREFIX_HOURLY_LIMIT, SMS_COUNTRY_HOURLY_LIMIT, SMS_COUNTRY_*_BUDGET and " +
    "SMS_CONVERSION_MIN_RATIO 0, no SMS_PRICES, SMS_DENIED_NUMBER_TYPES none (the policy still parses every number: there is no " +
    "switch for it, and config reads an empty value as the default list); the guess pools and the run of wrong public guesses have no off " +
    "and count in both. on: every rule at limits no run reaches, a budget in money (SMS_PRICES), the conversion guard at 0.2 from 500 sends " +
    "per prefix and 1,000 per country (bench/server/abuseControls.ts). verification-roundtrip sends email (the per-minute cap only); " +
    "token-request-consume registers by SMS, the public pool whoever asks: every rule, and on consume the conversion count (one more Redis " +
    "round trip). traffic counted: the counters in Redis, each at its highest over readings after every window (global: sends in a minute; " +
    "conv: sent/used in the hour). Two fresh servers per scenario and protocol, both on the server's CPU, loaded one at a time in windows off, on, on, off, " +
    "... (the first of each after the full warm-up, later ones after 2 s); a mode's figures are its windows' together: rounds/s and CPU " +
    "per round over all of them, p50/p99 their mean, per window each one's srv us/rnd (their spread is the machine's drift). Then as many " +
    "windows with both servers loaded at once, each by 32 clients of its own, sharing the core (both: srv us/rnd over those windows): the " +
    "same moment's machine for both, so the CPU ratio there is the one judged against the target.\n";
  return table + footnote + pinningNote(runs.flatMap((run) => run.windows));
}
