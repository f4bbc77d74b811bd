import { rawConnectTarget, type RawConnectRun } from "../rawConnect.js";
import { errorCell, pinningNote } from "./format.js";
import type { ScenarioRow } from "./types.js";
import { fixed, ms, renderTable } from "./table.js";

/** A raw run's server under this share of a core was not what capped its rate. */
const cpuBoundPercent = 90;

/** Per protocol, the full stack's bare Health/Check against raw connect-node's, and the issue's target. */
export function rawConnectTable(runs: readonly RawConnectRun[]): string {
  const first = runs[0];
  if (first === undefined) return "";
  const cpu = (value: number | undefined) => (value === undefined ? "-" : String(value));
  // Each cell: the first window, then the second (full stack: before and after raw's two; raw: its two).
  const full = (run: RawConnectRun, cell: (row: ScenarioRow) => string) => `${cell(run.fullStack)}, ${cell(run.fullStackAgain)}`;
  const raw = (run: RawConnectRun, cell: (row: ScenarioRow) => string) => `${cell(run.raw)}, ${cell(run.rawAgain)}`;
  const table = renderTable(
    `Health/Check: full stack (${first.backend} backend) vs raw connect-node, WORKERS=1, same core, ${first.raw.load.concurrency} clients, ${first.raw.load.measuredSeconds} s each, windows full, raw, raw, full`,
    [
      "protocol",
      "full req/s",
      "raw req/s",
      "x raw",
      `>=${rawConnectTarget}x`,
      "x raw by window",
      "full p99 ms",
      "raw p99 ms",
      "full srv CPU %",
      "raw srv CPU %",
      "full bench CPU %",
      "raw bench CPU %",
      "full srv us/call",
      "raw srv us/call",
      "x raw (CPU)",
      "full errors",
      "raw errors",
    ],
    runs.map((run) => [
      run.protocol,
      full(run, (row) => fixed(row.load.rpcPerSecond)),
      raw(run, (row) => fixed(row.load.rpcPerSecond)),
      run.ratio.toFixed(2),
      run.ratio >= rawConnectTarget ? "PASS" : "MISS",
      run.windowRatios.map((ratio) => ratio.toFixed(2)).join(", "),
      full(run, (row) => ms(row.load.latencyMs.p99)),
      raw(run, (row) => ms(row.load.latencyMs.p99)),
      full(run, (row) => fixed(row.server.cpuPercent)),
      raw(run, (row) => fixed(row.server.cpuPercent)),
      full(run, (row) => fixed(row.clientCpuPercent)),
      raw(run, (row) => fixed(row.clientCpuPercent)),
      full(run, (row) => cpu(row.cpuPerRoundUs?.server)),
      raw(run, (row) => cpu(row.cpuPerRoundUs?.server)),
      run.cpuRatio === null ? "-" : run.cpuRatio.toFixed(2),
      full(run, (row) => errorCell(row.load)),
      raw(run, (row) => errorCell(row.load)),
    ]),
  );
  const notBound = runs.filter((run) => Math.max(run.raw.server.cpuPercent, run.rawAgain.server.cpuPercent) < cpuBoundPercent);
  const boundNote =
    notBound.length === 0
      ? ""
      : `The raw server was under ${cpuBoundPercent}% of its core in ${notBound.map((run) => `${run.protocol} (${run.raw.server.cpuPercent}% and ${run.rawAgain.server.cpuPercent}%, bench ${run.raw.clientCpuPercent}% and ${run.rawAgain.clientCpuPercent}%)`).join(", ")}: ` +
        `there the load generator, not the raw server, capped raw req/s, so x raw flatters the full stack; x raw (CPU), raw's server CPU per call over the full stack's, does not.\n`;
  const idle = runs.map((run) => `${run.protocol} ${String(run.raw.notes.onetimeIdleCpuPercent ?? "-")}% and ${String(run.rawAgain.notes.onetimeIdleCpuPercent ?? "-")}%`).join(", ");
  const footnote =
    "x raw = the full stack's req/s over raw's, each side's two windows summed: the figure the target is judged on. The windows ran full stack, raw, raw, full stack, so a machine " +
    "whose speed drifts steadily favours neither side; x raw by window pairs each full stack window with the raw one next to it. " +
    "x raw (CPU) = raw srv us/call / full srv us/call, each the mean of its two windows. " +
    "Raw connect-node: connectNodeAdapter with Health/Check alone on node:http (Connect JSON) and node:http2 h2c (gRPC, Connect binary), no interceptor, " +
    "built and flagged as dist/main.js is; it ignores the bearer token the clients still send. " +
    `The onetime server idled on the same core during each raw run: ${idle} of a core.\n`;
  return table + footnote + boundNote + pinningNote(runs.flatMap((run) => [run.fullStack, run.raw, run.rawAgain, run.fullStackAgain]));
}
