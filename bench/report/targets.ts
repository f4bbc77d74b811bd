import type { GrowthResult } from "../growth.js";
import type { InstancesRun } from "../instances.js";
import { rawConnectTarget, type RawConnectRun } from "../rawConnect.js";
import type { RulesRun } from "../rules.js";
import { bareRatioTarget } from "./format.js";
import { rulesCpuTarget, rulesVerdict } from "./rulesTable.js";
import type { ScenarioRow, ServerRecord, TargetCheck, Verdict } from "./types.js";

const roundTripTarget = 3_300;
const halfLoadP99TargetMs = 10;
const bytesPerVerificationTarget = 1_024;

const verdict = (passed: boolean): Verdict => (passed ? "PASS" : "MISS");

/** The issue's targets, each checked against what this run measured (n/a when not measured). */
export function checkTargets(
  rows: readonly ScenarioRow[],
  growth: GrowthResult | null,
  servers: readonly ServerRecord[],
  instances: readonly InstancesRun[] = [],
  rules: readonly RulesRun[] = [],
  rawConnect: readonly RawConnectRun[] = [],
): TargetCheck[] {
  const checks: TargetCheck[] = [];

  const compared = rows.filter((row) => row.scenario !== "bare" && row.ratioToBare !== undefined);
  const misses = compared.filter((row) => row.ratioToBare! < bareRatioTarget);
  checks.push({
    target: `each scenario's per-RPC throughput >= ${bareRatioTarget * 100}% of bare`,
    measured:
      compared.length === 0
        ? "not measured"
        : `${compared.length - misses.length}/${compared.length} runs reach it` +
          (misses.length === 0
            ? ""
            : `; below: ${misses.map((row) => `${row.scenario}/${row.protocol}/${row.backend}/w${row.workers} ${row.ratioToBare!.toFixed(2)}`).join(", ")}`),
    verdict: compared.length === 0 ? "n/a" : verdict(misses.length === 0),
  });

  const roundTrips = rows.filter(
    // Tracing's and the rules' runs are the same round trip with a feature switched: a cost to compare, not the service's rate.
    (row) =>
      row.scenario === "verification-roundtrip" &&
      row.protocol === "connect-json-h1" &&
      row.backend === "real" &&
      row.load.mode === "closed" &&
      row.section !== "tracing" &&
      row.section !== "rules",
  );
  const best = roundTrips.reduce<ScenarioRow | undefined>((top, row) => (top === undefined || row.load.roundsPerSecond > top.load.roundsPerSecond ? row : top), undefined);
  checks.push({
    target: `verification round trip, Connect JSON/HTTP1.1, 32 keep-alive clients >= ${roundTripTarget} rounds/s`,
    measured:
      best === undefined
        ? "not measured"
        : roundTrips.map((row) => `${row.section}: ${row.load.roundsPerSecond} rounds/s with ${row.workers} worker${row.workers === 1 ? "" : "s"}`).join("; "),
    verdict: best === undefined ? "n/a" : verdict(best.load.roundsPerSecond >= roundTripTarget),
  });

  // Judged where the service went fastest: half of the best maximum, on that configuration.
  const halfLoad = rows.filter((row) => row.section === "half-load");
  const reference = halfLoad.reduce<ScenarioRow | undefined>(
    (top, row) => (top === undefined || Number(row.notes.maxRoundsPerSecond ?? 0) > Number(top.notes.maxRoundsPerSecond ?? 0) ? row : top),
    undefined,
  );
  checks.push({
    target: `p99 < ${halfLoadP99TargetMs} ms at half the maximum throughput (per RPC)`,
    measured:
      reference === undefined
        ? "not measured"
        : halfLoad
            .map(
              (row) =>
                `${row.workers} worker${row.workers === 1 ? "" : "s"}: RPC p99 ${row.load.latencyMs.p99} ms (round p99 ${row.load.roundLatencyMs.p99} ms) ` +
                `at ${row.load.targetRatePerSecond} of max ${String(row.notes.maxRoundsPerSecond)} rounds/s${row === reference ? " (judged)" : ""}`,
            )
            .join("; "),
    verdict: reference === undefined ? "n/a" : verdict(reference.load.latencyMs.p99 < halfLoadP99TargetMs && reference.load.dropped === 0),
  });

  checks.push(...issue22RatioChecks(rows));
  checks.push(...rawConnectChecks(rawConnect));

  const sizes = growth?.redis ?? [];
  const worst = sizes.reduce((top, step) => Math.max(top, step.bytesPerVerification, step.sampledKeyBytes), 0);
  checks.push({
    target: "< 1 KiB of Redis per live verification",
    measured: sizes.length === 0 ? "not measured" : sizes.map((step) => `${step.bytesPerVerification} B at ${step.liveVerifications}`).join(", "),
    verdict: sizes.length === 0 ? "n/a" : verdict(worst < bytesPerVerificationTarget),
  });

  const rulesOn = rules.filter((run) => rulesVerdict(run) !== undefined);
  checks.push({
    target: `abuse controls on: <= ${Math.round((rulesCpuTarget - 1) * 100)}% more server CPU per round trip than off (issue 18; both servers loaded at once)`,
    measured:
      rulesOn.length === 0
        ? "not measured"
        : rulesOn
            .map(
              (run) =>
                `${run.scenario}/${run.protocol} ${run.together.serverCpuPerRoundRatioToOff!.toFixed(2)}x (${run.together.serverCpuPerRound} us; ` +
                `alternating ${run.ratioToOff.serverCpuPerRound?.toFixed(2) ?? "-"}x)`,
            )
            .join(", "),
    verdict: rulesOn.length === 0 ? "n/a" : verdict(rulesOn.every((run) => rulesVerdict(run) === "PASS")),
  });

  // The instances' runs together are not rows (their lone runs are): their failures count here too.
  // Nor are the rules part's windows with both servers loaded at once.
  const together = [...instances.map((run) => run.aggregate), ...rules.flatMap((run) => run.together.windows.map((window) => window.load))];
  const unexpected = [...rows.map((row) => row.load), ...together].reduce((sum, load) => sum + load.errors + load.warmupErrors + load.abandoned, 0);
  const runs = rows.length + together.length;
  const growthErrors = sizes.reduce((sum, step) => sum + step.validateErrors, 0);
  const serverErrors = servers.reduce((sum, server) => sum + server.log.errors, 0);
  const expected = rows.reduce((sum, row) => sum + row.load.expectedFailures, 0);
  checks.push({
    target: "zero unexpected errors (warm-up included; wrong codes are expected)",
    measured: `${unexpected} failed RPCs in ${runs} runs, ${growthErrors} in growth, ${serverErrors} error lines logged by the servers; ${expected} expected WRONG_CODE answers`,
    verdict: runs === 0 ? "n/a" : verdict(unexpected + growthErrors + serverErrors === 0),
  });
  return checks;
}

/**
 * Issue 22's ratios to bare, per scenario group: every round trip on every protocol >= 0.70,
 * validation alone >= 0.80, TokenService request + consume >= 0.50 (the matrix's runs).
 */
function issue22RatioChecks(rows: readonly ScenarioRow[]): TargetCheck[] {
  const groups: ReadonlyArray<{ readonly label: string; readonly scenarios: readonly string[]; readonly least: number }> = [
    { label: "round trips (verification-roundtrip, wrong-code-mix)", scenarios: ["verification-roundtrip", "wrong-code-mix"], least: 0.7 },
    { label: "validate-only", scenarios: ["validate-only"], least: 0.8 },
    { label: "token-request-consume", scenarios: ["token-request-consume"], least: 0.5 },
  ];
  return groups.map(({ label, scenarios, least }) => {
    const runs = rows.filter((row) => row.section === "matrix" && scenarios.includes(row.scenario) && row.ratioToBare !== undefined);
    return {
      target: `${label} >= ${least.toFixed(2)}x bare on every protocol and backend (issue 22)`,
      measured: runs.length === 0 ? "not measured" : runs.map((row) => `${row.scenario}/${row.protocol}/${row.backend} ${row.ratioToBare!.toFixed(2)}`).join(", "),
      verdict: runs.length === 0 ? "n/a" : verdict(runs.every((row) => row.ratioToBare! >= least)),
    };
  });
}

/** Issue 22, one line per protocol measured (one n/a line when none was). */
function rawConnectChecks(runs: readonly RawConnectRun[]): TargetCheck[] {
  const target = `Health/Check full stack >= ${rawConnectTarget}x raw connect-node (issue 22; same run, same core)`;
  if (runs.length === 0) return [{ target, measured: "not measured", verdict: "n/a" }];
  return runs.map((run) => ({
    target: `${target}, ${run.protocol}`,
    measured:
      `${run.fullStack.load.rpcPerSecond} + ${run.fullStackAgain.load.rpcPerSecond} vs ${run.raw.load.rpcPerSecond} + ${run.rawAgain.load.rpcPerSecond} req/s: ${run.ratio.toFixed(2)}x ` +
      `(windows ${run.windowRatios.map((ratio) => ratio.toFixed(2)).join(", ")}; CPU per call ${run.cpuRatio?.toFixed(2) ?? "-"}x)`,
    verdict: verdict(run.ratio >= rawConnectTarget),
  }));
}
