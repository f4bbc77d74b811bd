import type { BenchGcPause } from "./benchGc.js";
import type { GcEvent } from "./server/gcTrace.js";
import { round1, round3, summarize } from "./stats.js";

export interface PauseStats {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly totalMs: number;
}

/** The server's collections in one measured window (`--trace-gc`), and how the slowest RPCs line up with them. */
export interface GcWindowSummary {
  readonly windowMs: number;
  /** Server processes that collected in the window (a cluster's primary and workers each collect). */
  readonly processes: number;
  readonly scavenges: PauseStats;
  readonly markCompacts: {
    readonly count: number;
    readonly maxMs: number;
    readonly totalMs: number;
    /** Incremental marking on the main thread before those pauses: in all, and the biggest single step. */
    readonly stepsMs: number;
    readonly biggestStepMs: number;
  };
  /** Collections of another kind (none expected on Node 20's defaults). */
  readonly others: number;
  /** The most-collecting process's pauses over the window's wall time, in %. */
  readonly pausedPercent: number;
  /** The same with its incremental marking steps. */
  readonly pausedWithStepsPercent: number;
  /** The bench process's own collections in the window (Node's gc performance entries). */
  readonly bench: { readonly count: number; readonly maxMs: number; readonly totalMs: number };
  /** RPCs at or over the window's p99, and the share of them (and of all RPCs) that overlapped a pause. */
  readonly tail: {
    readonly thresholdMs: number;
    readonly rpcs: number;
    readonly inServerGcPercent: number;
    readonly inBenchGcPercent: number;
    readonly allRpcsInServerGcPercent: number;
  } | null;
  /** Each collection, its time in ms from the window's start (when its pause ended). */
  readonly events: ReadonlyArray<{
    readonly pid: number;
    readonly atMs: number;
    readonly name: string;
    readonly pauseMs: number;
    readonly stepsMs?: number;
    readonly biggestStepMs?: number;
  }>;
}

interface Interval {
  readonly from: number;
  readonly to: number;
}

/**
 * Sums up a window's collections. `rpcIntervals` holds each RPC timed in the window as a pair
 * (start, end) on the bench's clock. A pause is placed as the `pauseMs` before its line's time;
 * the incremental steps' places are not in the trace, so only the pauses are matched to RPCs.
 */
export function summarizeGcWindow(
  events: readonly GcEvent[],
  benchPauses: readonly BenchGcPause[],
  window: { readonly fromMs: number; readonly toMs: number },
  rpcIntervals: readonly number[],
): GcWindowSummary {
  const windowMs = window.toMs - window.fromMs;
  const scavenges = events.filter((event) => event.kind === "scavenge");
  const markCompacts = events.filter((event) => event.kind === "mark-compact");
  const perProcess = new Map<number, { paused: number; steps: number }>();
  for (const event of events) {
    const sums = perProcess.get(event.pid) ?? { paused: 0, steps: 0 };
    sums.paused += event.pauseMs;
    sums.steps += event.stepsMs ?? 0;
    perProcess.set(event.pid, sums);
  }
  const busiest = [...perProcess.values()];
  const share = (ms: number) => (windowMs > 0 ? round1((ms / windowMs) * 100) : 0);
  const inWindow = benchPauses.filter((pause) => pause.startMs + pause.durationMs > window.fromMs && pause.startMs < window.toMs);

  const serverPauses: Interval[] = events.map((event) => ({ from: event.atMs - event.pauseMs, to: event.atMs }));
  const benchIntervals: Interval[] = inWindow.map((pause) => ({ from: pause.startMs, to: pause.startMs + pause.durationMs }));

  return {
    windowMs: Math.round(windowMs),
    processes: perProcess.size,
    scavenges: pauseStats(scavenges.map((event) => event.pauseMs)),
    markCompacts: {
      count: markCompacts.length,
      maxMs: round3(Math.max(0, ...markCompacts.map((event) => event.pauseMs))),
      totalMs: round1(sum(markCompacts.map((event) => event.pauseMs))),
      stepsMs: round1(sum(markCompacts.map((event) => event.stepsMs ?? 0))),
      biggestStepMs: round3(Math.max(0, ...markCompacts.map((event) => event.biggestStepMs ?? 0))),
    },
    others: events.length - scavenges.length - markCompacts.length,
    pausedPercent: share(Math.max(0, ...busiest.map((sums) => sums.paused))),
    pausedWithStepsPercent: share(Math.max(0, ...busiest.map((sums) => sums.paused + sums.steps))),
    bench: {
      count: inWindow.length,
      maxMs: round3(Math.max(0, ...inWindow.map((pause) => pause.durationMs))),
      totalMs: round1(sum(inWindow.map((pause) => pause.durationMs))),
    },
    tail: tailOverlap(rpcIntervals, serverPauses, benchIntervals),
    events: events.map((event) => ({
      pid: event.pid,
      atMs: round1(event.atMs - window.fromMs),
      name: event.name,
      pauseMs: event.pauseMs,
      ...(event.stepsMs === undefined ? {} : { stepsMs: event.stepsMs, biggestStepMs: event.biggestStepMs! }),
    })),
  };
}

function tailOverlap(rpcIntervals: readonly number[], serverPauses: readonly Interval[], benchPauses: readonly Interval[]): GcWindowSummary["tail"] {
  const rpcs: Interval[] = [];
  for (let i = 0; i + 1 < rpcIntervals.length; i += 2) rpcs.push({ from: rpcIntervals[i]!, to: rpcIntervals[i + 1]! });
  if (rpcs.length === 0) return null;
  const durations = rpcs.map((rpc) => rpc.to - rpc.from);
  const thresholdMs = summarize([...durations]).p99;
  const tail = rpcs.filter((_, i) => durations[i]! >= thresholdMs);
  const overlapping = (set: readonly Interval[], rpc: Interval) => set.some((pause) => pause.from < rpc.to && pause.to > rpc.from);
  const percent = (part: number, whole: number) => round1((part / whole) * 100);
  return {
    thresholdMs,
    rpcs: tail.length,
    inServerGcPercent: percent(tail.filter((rpc) => overlapping(serverPauses, rpc)).length, tail.length),
    inBenchGcPercent: percent(tail.filter((rpc) => overlapping(benchPauses, rpc)).length, tail.length),
    allRpcsInServerGcPercent: percent(rpcs.filter((rpc) => overlapping(serverPauses, rpc)).length, rpcs.length),
  };
}

function pauseStats(pausesMs: number[]): PauseStats {
  const summary = summarize([...pausesMs]);
  return { count: summary.count, p50Ms: summary.p50, p99Ms: summary.p99, maxMs: summary.max, totalMs: round1(sum(pausesMs)) };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
