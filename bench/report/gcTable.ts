import { ms, renderTable } from "./table.js";
import type { ScenarioRow } from "./types.js";

/** --trace-gc: per measured window, the server's collections and the slowest RPCs against them ("" when no row has them). */
export function gcTable(rows: readonly ScenarioRow[]): string {
  const traced = rows.filter((row) => row.gc !== undefined);
  if (traced.length === 0) return "";
  const pct = (value: number) => `${value.toFixed(1)}`;
  const table = renderTable(
    "GC in the measured windows (the servers' main-thread pauses, from V8's --trace-gc)",
    ["section", "scenario", "protocol", "backend", "workers", "RPC p99", "scav n", "scav p50/p99/max ms", "scav ms", "MC n", "MC max ms", "MC steps ms (biggest)", "GC % wall (+steps)", "bench GC n/max ms", ">=p99 RPCs", "in srv GC %", "in bench GC %", "all RPCs in srv GC %"],
    traced.map((row) => {
      const gc = row.gc!;
      return [
        row.section,
        row.scenario,
        row.protocol,
        row.backend,
        String(row.workers),
        ms(row.load.latencyMs.p99),
        String(gc.scavenges.count),
        gc.scavenges.count === 0 ? "-" : `${ms(gc.scavenges.p50Ms)}/${ms(gc.scavenges.p99Ms)}/${ms(gc.scavenges.maxMs)}`,
        gc.scavenges.totalMs.toFixed(0),
        String(gc.markCompacts.count),
        gc.markCompacts.count === 0 ? "-" : ms(gc.markCompacts.maxMs),
        gc.markCompacts.count === 0 ? "-" : `${gc.markCompacts.stepsMs.toFixed(0)} (${ms(gc.markCompacts.biggestStepMs)})`,
        `${pct(gc.pausedPercent)} (${pct(gc.pausedWithStepsPercent)})`,
        `${gc.bench.count}/${ms(gc.bench.maxMs)}`,
        gc.tail === null ? "-" : String(gc.tail.rpcs),
        gc.tail === null ? "-" : pct(gc.tail.inServerGcPercent),
        gc.tail === null ? "-" : pct(gc.tail.inBenchGcPercent),
        gc.tail === null ? "-" : pct(gc.tail.allRpcsInServerGcPercent),
      ];
    }),
  );
  const processes = Math.max(...traced.map((row) => row.gc!.processes));
  const footnote =
    "Pauses are V8's own figure for each collection (the first number after \"MB,\" in its trace line); MC steps: incremental marking on the main thread " +
    "before a mark-compact, in small slices between tasks. GC % wall: the window's pauses over its wall time" +
    (processes > 1 ? " (of the process that collected most; several server processes collected)" : "") +
    ". >=p99 RPCs: the RPCs at or over the window's p99; in srv GC: the share of them whose call overlapped a server pause, " +
    "against all RPCs' share in the last column (what chance alone gives); in bench GC: overlapped a pause of the load generator itself.\n";
  return table + footnote;
}
