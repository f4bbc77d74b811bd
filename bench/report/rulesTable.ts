import type { RulesRun } from "../rules.js";
import { describeTrafficCounters } from "../server/trafficCounters.js";
import { errorCell, pinningNote } from "./format.js";
import { fixed, ms, renderTable } from "./table.js";

/** Issue 18: the abuse controls on cost at most 10 % more server CPU per round trip than off. */
export const rulesCpuTarget = 1.1;

/** Each scenario with the abuse controls off and on, and on's ratio to off on the same protocol. */
export function rulesTable(runs: readonly RulesRun[]): string {
  const ratio = (value: number | null | undefined) => (value === null || value === undefined ? "-" : value.toFixed(2));
  const first = runs[0];
  if (first === undefined) return "";
  const table = renderTable(
    `Abuse controls: off against on, real backend, WORKERS=1, ${first.row.load.concurrency} clients, ${first.row.load.measuredSeconds} s each`,
    ["rules", "scenario", "protocol", "rounds/s", "x off", "p50 ms", "p99 ms", "x off", "max ms", "errors", "srv CPU %", "srv us/rnd", "x off", `<=${rulesCpuTarget.toFixed(2)}`, "redis us/rnd", "total us/rnd", "traffic counted"],
    runs.map((run) => {
      const cpuRatio = run.ratioToOff?.serverCpuPerRound;
      const redis = run.row.cpuPerRoundUs?.redis;
      return [
        run.mode,
        run.scenario,
        run.protocol,
        fixed(run.row.load.roundsPerSecond),
        ratio(run.ratioToOff?.roundsPerSecond),
        ms(run.row.load.latencyMs.p50),
        ms(run.row.load.latencyMs.p99),
        ratio(run.ratioToOff?.p99),
        ms(run.row.load.latencyMs.max),
        errorCell(run.row.load),
        fixed(run.row.server.cpuPercent),
        run.row.cpuPerRoundUs === null ? "-" : String(run.row.cpuPerRoundUs.server),
        ratio(cpuRatio),
        run.mode === "off" || cpuRatio === null || cpuRatio === undefined ? "" : cpuRatio <= rulesCpuTarget ? "PASS" : "MISS",
        redis === null || redis === undefined ? "-" : String(redis),
        run.row.cpuPerRoundUs === null ? "-" : String(run.row.cpuPerRoundUs.total),
        describeTrafficCounters(run.trafficCounters),
      ];
    }),
  );
  const footnote =
    "off: EMAIL_PER_MINUTE_LIMIT, SMS_PER_MINUTE_LIMIT, SMS_PREFIX_HOURLY_LIMIT, SMS_COUNTRY_HOURLY_LIMIT, SMS_COUNTRY_*_BUDGET and " +
    "SMS_CONVERSION_MIN_RATIO 0, no SMS_PRICES, SMS_DENIED_NUMBER_TYPES a list of none (the policy still parses every number: there is no " +
    "switch for it, and config reads an empty value as the default list); the guess pools and the run of wrong public guesses have no off " +
    "and count in both. on: every rule at limits no run reaches, a budget in money (SMS_PRICES), the conversion guard at 0.2 from 500 sends " +
    "per prefix and 1,000 per country (bench/server/abuseControls.ts). verification-roundtrip sends email (the per-minute cap only); " +
    "token-request-consume registers by SMS, the public pool whoever asks: every rule, and on consume the conversion count (one more Redis " +
    "round trip). traffic counted: the counters in Redis after warm-up and window (global: sends; conv: sent/used). A fresh server per mode, " +
    "one after the other: read srv us/rnd, the server's own CPU per round trip, before rounds/s; run-to-run noise on this machine is " +
    "about ±10-15%.\n";
  return table + footnote + pinningNote(runs.map((run) => run.row));
}
