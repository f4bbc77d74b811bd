import type { GrowthResult } from "../growth.js";
import type { LoadResult } from "../loadGenerator.js";
import type { PostgresCeiling } from "../stores/postgresCeiling.js";
import type { RedisCeiling } from "../stores/redisBenchmark.js";
import { fixed, ms, renderTable } from "./table.js";
import type { CpuPerRound, ScenarioRow, TargetCheck } from "./types.js";

/** The minimum per-RPC throughput of a scenario, as a share of the bare handler's. */
export const bareRatioTarget = 0.7;

export function scenarioTable(title: string, rows: readonly ScenarioRow[]): string {
  const reused = rows.filter((row) => row.connections.opened !== undefined);
  const footnote =
    reused.length === 0
      ? ""
      : `HTTP/1.1 keep-alive: ${Math.max(...reused.map((row) => row.connections.opened!))} connections opened by each pool over all its runs ` +
        `(${reused[0]!.connections.planned} planned), then reused for every request.\n`;
  // Two single-threaded processes that both idle while the rate is capped: the cap is waiting
  // (network latency, Nagle and delayed ACKs, a lock), not CPU. Said, so ratios are read right.
  const waiting = rows.filter((row) => row.workers === 1 && row.server.cpuPercent < 75 && row.clientCpuPercent < 75);
  const waitNote =
    waiting.length === 0
      ? ""
      : `Neither the server nor the bench was CPU-bound (both < 75% of a core) in: ` +
        `${waiting.map((row) => `${row.scenario}/${row.protocol} (srv ${row.server.cpuPercent}%, bench ${row.clientCpuPercent}%)`).join(", ")}: ` +
        `there the rate is capped by waiting (latency per call), not by CPU.\n`;
  return scenarioRows(title, rows) + footnote + waitNote + pinningNote(rows);
}

/** Which CPUs the server and the bench ran on, per worker count (one line; nothing for no rows). */
export function pinningNote(rows: readonly ScenarioRow[]): string {
  const byWorkers = new Map<number, Set<string>>();
  for (const row of rows) {
    const { server, bench } = row.cpuPinning;
    const said = server === null && bench === null ? "unpinned" : `server on CPU ${server ?? "any"}, bench on CPU ${bench ?? "any"}`;
    const seen = byWorkers.get(row.workers) ?? new Set<string>();
    seen.add(said);
    byWorkers.set(row.workers, seen);
  }
  if (byWorkers.size === 0) return "";
  const parts = [...byWorkers].map(([workers, said]) => `WORKERS=${workers}: ${[...said].join(" / ")}`);
  return `CPU pinning (taskset): ${parts.join("; ")}.\n`;
}

function scenarioRows(title: string, rows: readonly ScenarioRow[]): string {
  const header = [
    "scenario",
    "protocol",
    "backend",
    "workers",
    "req/s",
    "rounds/s",
    "x bare",
    ">=70%",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "errors",
    "srv CPU %",
    "RSS MB",
    "bench CPU %",
    ...cpuPerRoundHeader,
    "backlog",
    "settle s",
  ];
  return renderTable(
    title,
    header,
    rows.map((row) => [
      row.scenario,
      row.protocol,
      row.backend,
      String(row.workers),
      fixed(row.load.rpcPerSecond),
      row.rpcsPerRound > 1 || row.load.mode === "fixed-rate" ? fixed(row.load.roundsPerSecond) : "-",
      row.ratioToBare === undefined ? "-" : row.ratioToBare.toFixed(2),
      row.ratioToBare === undefined || row.scenario === "bare" ? "" : row.ratioToBare >= bareRatioTarget ? "PASS" : "MISS",
      ms(row.load.latencyMs.p50),
      ms(row.load.latencyMs.p95),
      ms(row.load.latencyMs.p99),
      ms(row.load.latencyMs.max),
      errorCell(row.load),
      fixed(row.server.cpuPercent),
      fixed(row.server.peakRssMb),
      fixed(row.clientCpuPercent),
      ...cpuPerRoundCells(row.cpuPerRoundUs),
      row.outboxBacklog === undefined ? "-" : String(row.outboxBacklog),
      fixed(row.settleSeconds, 1),
    ]),
  );
}

/** Unexpected failures in the window, and beside them those of the warm-up and the rounds abandoned or dropped. */
export function errorCell(load: Pick<LoadResult, "errors" | "warmupErrors" | "abandoned" | "dropped">): string {
  const extra = load.warmupErrors + load.abandoned + load.dropped;
  return extra === 0 ? String(load.errors) : `${load.errors} (+${extra} warm-up/abandoned/dropped)`;
}

export function halfLoadTable(rows: readonly ScenarioRow[]): string {
  return halfLoadRows(rows) + pinningNote(rows);
}

function halfLoadRows(rows: readonly ScenarioRow[]): string {
  return renderTable(
    "Half-load latency (open loop, fixed rate = half the measured max)",
    ["scenario", "protocol", "backend", "workers", "target rounds/s", "achieved rounds/s", "RPC p50", "RPC p99", "round p99", "max ms", "errors", "dropped", "srv CPU %", "bench CPU %", ...cpuPerRoundHeader],
    rows.map((row) => [
      row.scenario,
      row.protocol,
      row.backend,
      String(row.workers),
      fixed(row.load.targetRatePerSecond ?? 0),
      fixed(row.load.roundsPerSecond),
      ms(row.load.latencyMs.p50),
      ms(row.load.latencyMs.p99),
      ms(row.load.roundLatencyMs.p99),
      ms(row.load.latencyMs.max),
      String(row.load.errors + row.load.warmupErrors),
      String(row.load.dropped),
      fixed(row.server.cpuPercent),
      fixed(row.clientCpuPercent),
      ...cpuPerRoundCells(row.cpuPerRoundUs),
    ]),
  );
}

/** CPU microseconds per round of the server, the bench, local Postgres and Redis, and their sum ("-": not available). */
export const cpuPerRoundHeader = ["srv us/rnd", "bench us/rnd", "pg us/rnd", "redis us/rnd", "total us/rnd"];

export function cpuPerRoundCells(cost: CpuPerRound | null): string[] {
  const cell = (value: number | null | undefined) => (value === null || value === undefined ? "-" : String(value));
  return [cell(cost?.server), cell(cost?.bench), cell(cost?.postgres), cell(cost?.redis), cell(cost?.total)];
}

export function storesTable(redis: readonly RedisCeiling[], postgres: readonly PostgresCeiling[]): string {
  return renderTable(
    "Store ceilings (same run, 32 clients)",
    ["store", "test", "ops/s", "p50 ms", "p99 ms"],
    [
      ...redis.map((entry) => ["redis", entry.test, fixed(entry.requestsPerSecond), entry.p50Ms === undefined ? "-" : ms(entry.p50Ms), "-"]),
      ...postgres.map((entry) => ["postgres", `${entry.rows} single-row INSERTs into ${entry.table}`, fixed(entry.rowsPerSecond), ms(entry.latencyMs.p50), ms(entry.latencyMs.p99)]),
    ],
  );
}

export function growthTables(growth: GrowthResult): string {
  const redis = renderTable(
    "Growth: Redis (live verifications written through RedisPendingSecrets.put)",
    ["live verifications", "used_memory delta MB", "bytes/verification", "MEMORY USAGE/key B", "validate ops/s", "p50 ms", "p99 ms", "errors", "populate s"],
    growth.redis.map((step) => [
      String(step.liveVerifications),
      fixed(step.usedMemoryDeltaBytes / 1024 / 1024, 1),
      String(step.bytesPerVerification),
      String(step.sampledKeyBytes),
      fixed(step.validatePerSecond),
      ms(step.validateLatencyMs.p50),
      ms(step.validateLatencyMs.p99),
      String(step.validateErrors),
      fixed(step.populateSeconds, 1),
    ]),
  );
  const postgres = renderTable(
    "Growth: Postgres outbox_messages (writes through sqlOutbox.enqueue, 32 at a time)",
    ["existing rows", "table MB", "writes", "writes/s", "mean ms", "p50 ms", "p99 ms", "populate s"],
    growth.postgres.map((step) => [
      String(step.existingRows),
      fixed(step.tableBytes / 1024 / 1024, 1),
      String(step.writes),
      fixed(step.writesPerSecond),
      ms(step.latencyMs.mean),
      ms(step.latencyMs.p50),
      ms(step.latencyMs.p99),
      fixed(step.populateSeconds, 1),
    ]),
  );
  return [redis, postgres, ...growth.findings.map((line) => `* ${line}`), ""].join("\n");
}

export function targetsTable(targets: readonly TargetCheck[]): string {
  return renderTable("Targets (issue 5)", ["target", "measured", "verdict"], targets.map((check) => [check.target, check.measured, check.verdict]));
}
