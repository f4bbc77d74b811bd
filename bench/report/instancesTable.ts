import { availableParallelism } from "node:os";
import type { InstancesRun } from "../instances.js";
import { cpuPerRoundCells, cpuPerRoundHeader, errorCell } from "./format.js";
import { fixed, ms, renderTable } from "./table.js";

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
    const shares = run.perInstance.map((share, i) => [
      run.scenario,
      run.protocol,
      `#${i + 1} of ${run.instances}`,
      fixed(share.load.rpcPerSecond),
      fixed(share.load.roundsPerSecond),
      "",
      ms(share.load.latencyMs.p50),
      ms(share.load.latencyMs.p90),
      ms(share.load.latencyMs.p99),
      ms(share.load.latencyMs.max),
      errorCell(share.load),
      fixed(share.server.cpuPercent),
      "-",
      // Only the instance's own CPU is its; the bench's and the stores' are shared by all.
      share.serverCpuUsPerRound === null ? "-" : String(share.serverCpuUsPerRound),
      "-",
      "-",
      "-",
      "-",
    ]);
    return [
      [
        run.scenario,
        run.protocol,
        "#1 alone",
        fixed(alone.load.rpcPerSecond),
        fixed(alone.load.roundsPerSecond),
        "1.00",
        ms(alone.load.latencyMs.p50),
        ms(alone.load.latencyMs.p90),
        ms(alone.load.latencyMs.p99),
        ms(alone.load.latencyMs.max),
        errorCell(alone.load),
        fixed(alone.server.cpuPercent),
        fixed(alone.clientCpuPercent),
        ...cpuPerRoundCells(alone.cpuPerRoundUs),
      ],
      ...shares,
      [
        run.scenario,
        run.protocol,
        `all ${run.instances}`,
        fixed(aggregate.rpcPerSecond),
        fixed(aggregate.roundsPerSecond),
        run.scalingFactor === null ? "-" : run.scalingFactor.toFixed(2),
        ms(aggregate.latencyMs.p50),
        ms(aggregate.latencyMs.p90),
        ms(aggregate.latencyMs.p99),
        ms(aggregate.latencyMs.max),
        errorCell(aggregate),
        fixed(aggregate.serverCpuPercent),
        fixed(aggregate.benchCpuPercent),
        ...cpuPerRoundCells(aggregate.cpuPerRoundUs),
      ],
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
