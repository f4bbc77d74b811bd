import type { TracingRun } from "../tracing.js";
import { errorCell, pinningNote } from "./format.js";
import { fixed, ms, renderTable } from "./table.js";

/** Each tracing mode's round trip, and its ratio to tracing off on the same protocol. */
export function tracingTable(runs: readonly TracingRun[]): string {
  const ratio = (value: number | null | undefined) => (value === null || value === undefined ? "-" : value.toFixed(2));
  const first = runs[0];
  if (first === undefined) return "";
  const table = renderTable(
    `Tracing: verification round trip, real backend, WORKERS=1, ${first.row.load.concurrency} clients, ${first.row.load.measuredSeconds} s each`,
    ["traces", "protocol", "rounds/s", "x off", "p50 ms", "p99 ms", "x off", "max ms", "errors", "srv CPU %", "srv us/rnd", "x off", "total us/rnd", "spans exported"],
    runs.map((run) => [
      run.mode,
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
      ratio(run.ratioToOff?.serverCpuPerRound),
      run.row.cpuPerRoundUs === null ? "-" : String(run.row.cpuPerRoundUs.total),
      String(run.spansExported),
    ]),
  );
  const footnote =
    "off: no OTEL_* variable (the SDK is not loaded); sampled-out: OTEL_EXPORTER_OTLP_ENDPOINT set and OTEL_TRACES_SAMPLER=parentbased_always_off (the bench sends no traceparent: nothing is recorded, but the SDK runs); " +
    "on: every span exported over OTLP/HTTP (JSON, batched) to a sink in the bench process, which counts them and answers 200 " +
    "(receiving is the bench's CPU, not the server's). A fresh server per mode, one after the other: read srv us/rnd, the server's own " +
    "CPU per round trip, before rounds/s; run-to-run noise on this machine is about ±10-15%.\n";
  return table + footnote + pinningNote(runs.map((run) => run.row));
}
