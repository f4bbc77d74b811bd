import { availableParallelism } from "node:os";
import type { InstancesRun } from "../instances.js";
import type { LoadResult } from "../loadGenerator.js";
import { cpuPerRoundCells, cpuPerRoundHeader, errorCell } from "./format.js";
import { fixed, ms, renderTable } from "./table.js";

/** What a line shows of a run: an instance's load, or the aggregate's. */
type LineLoad = Pick<LoadResult, "rpcPerSecond" | "roundsPerSecond" | "latencyMs" | "errors" | "warmupErrors" | "abandoned" | "dropped">;

/** Per scenario and protocol: instance 1 alone, each instance's share of the run together, and the aggregate. */
export function instancesTable(runs: readonly InstancesRun[], redis: string): string {
  const first = runs[0];
  if (first === undefined) return "";
  const title =
    `Instances: ${first.instances} x WORKERS=${first.workersPerInstance} of one deployment (Postgres, ${redis}; one schema, key prefix and key), ` +
    `${first.clientsPerInstance} clients per instance, unpinned`;
  const header = ["scenario", "protocol", "run", "req/s", "rounds/s", "x alone", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "srv CPU %", "bench CPU %", ...cpuPerRoundHeader];
  const rows = runs.flatMap((run) => {
    const { alone, aggregate } = run;
    const line = (who: string, load: LineLoad, xAlone: string, serverCpuPercent: number, benchCpu: string, costs: readonly string[]) => [
      run.scenario,
      run.protocol,
      who,
      fixed(load.rpcPerSecond),
      fixed(load.roundsPerSecond),
      xAlone,
      ms(load.latencyMs.p50),
      ms(load.latencyMs.p90),
      ms(load.latencyMs.p99),
      ms(load.latencyMs.max),
      errorCell(load),
      fixed(serverCpuPercent),
      benchCpu,
      ...costs,
    ];
    return [
      line("#1 alone", alone.load, "1.00", alone.server.cpuPercent, fixed(alone.clientCpuPercent), cpuPerRoundCells(alone.cpuPerRoundUs)),
      // Only an instance's own CPU is its; the bench's and the stores' are shared by all.
      ...run.perInstance.map((share, i) =>
        line(`#${i + 1} of ${run.instances}`, share.load, "", share.server.cpuPercent, "-", [share.serverCpuUsPerRound === null ? "-" : String(share.serverCpuUsPerRound), "-", "-", "-", "-"]),
      ),
      line(`all ${run.instances}`, aggregate, run.scalingFactor === null ? "-" : run.scalingFactor.toFixed(2), aggregate.serverCpuPercent, fixed(aggregate.benchCpuPercent), cpuPerRoundCells(aggregate.cpuPerRoundUs)),
    ];
  });
  const cores = availableParallelism();
  const footnote =
    `On this ${cores}-core machine the ${first.instances} instances, the load generator (one Node process, bench CPU %) and Postgres and Redis share ` +
    `the same cores, unpinned: "x alone" (the aggregate's rounds/s over instance 1 alone's) is capped by the machine, not by the service, ` +
    `once srv + bench + store CPU reach ${cores * 100}%. What transfers to a bigger machine is the CPU per round: srv us/rnd per instance ` +
    `(an instance with a core of its own serves about 1,000,000 / srv us/rnd rounds/s) and, for the whole deployment, the aggregate's columns.\n` +
    `Latency percentiles of "all" are over every instance's samples together; errors are unexpected failures (every round checks its answers).\n`;
  return renderTable(title, header, rows) + footnote;
}
