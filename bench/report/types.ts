import type { Protocol } from "../clients/types.js";
import type { GcWindowSummary } from "../gcWindow.js";
import type { GrowthResult } from "../growth.js";
import type { InstancesRun } from "../instances.js";
import type { LoadResult } from "../loadGenerator.js";
import type { ScenarioName } from "../scenarios/scenario.js";
import type { Backend } from "../server/backends.js";
import type { ServerCost } from "../server/procStats.js";
import type { ServerLogSummary } from "../server/serverProcess.js";
import type { PostgresCeiling } from "../stores/postgresCeiling.js";
import type { RedisCeiling } from "../stores/redisBenchmark.js";
import type { RulesRun } from "../rules.js";
import type { RawConnectRun } from "../rawConnect.js";
import type { TracingRun } from "../tracing.js";

export type Section = "matrix" | "cores" | "half-load" | "instances" | "tracing" | "rules" | "raw-connect";

/** One measured run of one scenario: a line of the terminal table, an entry of the JSON. */
export interface ScenarioRow {
  readonly section: Section;
  readonly scenario: ScenarioName;
  readonly protocol: Protocol;
  /** "none": the raw connect-node server (section raw-connect, beside the full stack's second window there), which stores nothing. */
  readonly backend: Backend | "none";
  readonly workers: number;
  readonly rpcsPerRound: number;
  readonly load: LoadResult;
  readonly server: ServerCost;
  /** CPU of the bench process itself (the load generator shares the machine's cores). */
  readonly clientCpuPercent: number;
  /**
   * CPU microseconds per round over the measured window (CPU over the window / rounds counted in
   * it), per consumer on this machine: the server's process tree, the bench process, every local
   * `postgres` process and `redis-server` (null: no such local process, or the store's URL is not
   * on this machine); `total` sums the ones known. Null when no round completed in the window.
   */
  readonly cpuPerRoundUs: CpuPerRound | null;
  /** CPU lists the server and the bench process were pinned to during the run (taskset); null = unpinned. */
  readonly cpuPinning: { readonly server: string | null; readonly bench: string | null };
  readonly connections: { readonly planned: number; readonly opened?: number };
  /** Outbox messages still undelivered when the run ended (real backend): work the relay does after the window. */
  readonly outboxBacklog?: number;
  /** Seconds the server kept working after the run (relay draining, GC) before it was idle again. */
  readonly settleSeconds: number;
  /** This run's per-RPC throughput over the bare handler's on the same server and protocol. */
  readonly ratioToBare?: number;
  /** --trace-gc: the server's collections over the window, from V8's own trace. */
  readonly gc?: GcWindowSummary;
  readonly notes: Readonly<Record<string, number | string>>;
}

export interface CpuPerRound {
  readonly server: number;
  readonly bench: number;
  readonly postgres: number | null;
  readonly redis: number | null;
  readonly total: number;
}

export interface ServerRecord {
  readonly backend: Backend;
  readonly workers: number;
  /** The CPU list the server ran on (taskset -c), or null when unpinned. */
  readonly cpus: string | null;
  readonly startSeconds: number;
  readonly exitCode: number | null;
  /** How the server ended before the bench stopped it (crash, or killed from outside), if it did. */
  readonly exitedEarly?: string;
  readonly log: ServerLogSummary;
}

export type Verdict = "PASS" | "MISS" | "n/a";

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly verdict: Verdict;
}

export interface BenchResults {
  readonly version: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly argv: readonly string[];
  readonly settings: Readonly<Record<string, unknown>>;
  readonly machine: Readonly<Record<string, unknown>>;
  readonly rows: readonly ScenarioRow[];
  readonly servers: readonly ServerRecord[];
  readonly stores: { readonly redis: readonly RedisCeiling[]; readonly postgres: readonly PostgresCeiling[] } | null;
  readonly growth: GrowthResult | null;
  /** --instances: per scenario and protocol, instance 1 alone, each instance together, the aggregate. */
  readonly instances: readonly InstancesRun[];
  /** --only tracing: the round trip with traces off, sampled out and exported. */
  readonly tracing: readonly TracingRun[];
  /** The rules part: each scenario with the abuse controls off and on, and on's ratios to off. */
  readonly rules: readonly RulesRun[];
  /** The matrix's bare runs on its first backend, each paired with raw connect-node's on the same protocol (issue 22). */
  readonly rawConnect: readonly RawConnectRun[];
  readonly targets: readonly TargetCheck[];
  readonly notes: readonly string[];
}

