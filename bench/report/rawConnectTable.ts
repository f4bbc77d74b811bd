import { rawConnectTarget, type RawConnectRun } from "../rawConnect.js";
import { errorCell, pinningNote } from "./format.js";
import { fixed, ms, renderTable } from "./table.js";

/** A raw run's server under this share of a core was not what capped its rate. */
const cpuBoundPercent = 90;

/** Per protocol, the full stack's bare Health/Check against raw connect-node's, and the issue's target. */
export function rawConnectTable(runs: readonly RawConnectRun[]): string {
  const first = runs[0];
  if (first === undefined) return "";
  const cpu = (value: number | undefined) => (value === undefined ? "-" : String(value));
  const table = renderTable(
    `Health/Check: full stack (${first.backend} backend) vs raw connect-node, WORKERS=1, same core, ${first.raw.load.concurrency} clients, ${first.raw.load.measuredSeconds} s each`,
    [
      "protocol",
      "full req/s",
      "raw req/s",
      "x raw",
      `>=${rawConnectTarget}x`,
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
      fixed(run.fullStack.load.rpcPerSecond),
      fixed(run.raw.load.rpcPerSecond),
      run.ratio.toFixed(2),
      run.ratio >= rawConnectTarget ? "PASS" : "MISS",
      ms(run.fullStack.load.latencyMs.p99),
      ms(run.raw.load.latencyMs.p99),
      fixed(run.fullStack.server.cpuPercent),
      fixed(run.raw.server.cpuPercent),
      fixed(run.fullStack.clientCpuPercent),
      fixed(run.raw.clientCpuPercent),
      cpu(run.fullStack.cpuPerRoundUs?.server),
      cpu(run.raw.cpuPerRoundUs?.server),
      run.cpuRatio === null ? "-" : run.cpuRatio.toFixed(2),
      errorCell(run.fullStack.load),
      errorCell(run.raw.load),
    ]),
  );
  const notBound = runs.filter((run) => run.raw.server.cpuPercent < cpuBoundPercent);
  const boundNote =
    notBound.length === 0
      ? ""
      : `The raw server was under ${cpuBoundPercent}% of its core in ${notBound.map((run) => `${run.protocol} (${run.raw.server.cpuPercent}%, bench ${run.raw.clientCpuPercent}%)`).join(", ")}: ` +
        `there the load generator, not the raw server, capped raw req/s, so x raw flatters the full stack; x raw (CPU), raw's server CPU per call over the full stack's, does not.\n`;
  const idle = runs.map((run) => `${run.protocol} ${String(run.raw.notes.onetimeIdleCpuPercent ?? "-")}%`).join(", ");
  const footnote =
    "x raw = full req/s / raw req/s, the figure the target is judged on; x raw (CPU) = raw srv us/call / full srv us/call. " +
    "Raw connect-node: connectNodeAdapter with Health/Check alone on node:http (Connect JSON) and node:http2 h2c (gRPC, Connect binary), no interceptor, " +
    "built and flagged as dist/main.js is; it ignores the bearer token the clients still send. " +
    `The onetime server idled on the same core during each raw run: ${idle} of a core.\n`;
  return table + footnote + boundNote + pinningNote(runs.flatMap((run) => [run.fullStack, run.raw]));
}
