import { describe, expect, it } from "vitest";
import { summarizeGcWindow } from "../../bench/gcWindow.js";
import { GcTrace, parseGcLine } from "../../bench/server/gcTrace.js";

// Lines as node 20 (V8 11.3) prints them under --trace-gc, from the bench's server.
const scavenge =
  "[20125:0xecf7dc0]    27287 ms: Scavenge 161.9 (248.3) -> 117.1 (248.3) MB, 12.36 / 1.35 ms  (average mu = 0.996, current mu = 0.996) task; ";
const markCompact =
  "[20125:0xecf7dc0]    24649 ms: Mark-Compact 167.1 (292.2) -> 45.4 (248.3) MB, 23.04 / 7.63 ms  (+ 26.7 ms in 41 steps since start of marking, " +
  "biggest step 24.1 ms, walltime since start of marking 80 ms) (average mu = 0.996, current mu = 0.996) finalize incremental marking via task; GC in old space requested";

describe("the bench's reading of --trace-gc", () => {
  it("takes the pause as the first figure after MB, and a mark-compact's incremental steps", () => {
    expect(parseGcLine(scavenge)).toEqual({ pid: 20125, v8Ms: 27287, name: "Scavenge", pauseMs: 12.36 });
    expect(parseGcLine(markCompact)).toEqual({ pid: 20125, v8Ms: 24649, name: "Mark-Compact", pauseMs: 23.04, stepsMs: 26.7, biggestStepMs: 24.1 });
    expect(parseGcLine('{"level":"warn","msg":"x"}')).toBeUndefined();
  });

  it("keeps V8's lines out of the log and places them on the bench's clock by the most promptly read line", () => {
    const trace = new GcTrace();
    expect(trace.take('{"level":"error","msg":"boom"}', 0)).toBe(false);
    // Read 30 ms late, then one read 1,000 ms after V8's start: the isolate started at bench time 1,000.
    expect(trace.take(markCompact, 1_000 + 24_649 + 30)).toBe(true);
    expect(trace.take(scavenge, 1_000 + 27_287)).toBe(true);
    expect(trace.take("[20125:0xecf7dc0] something else V8 says", 0)).toBe(true);
    expect(trace.unparsed).toBe(1);
    expect(trace.between(1_000 + 24_649, 1_000 + 24_650).map((event) => [event.kind, event.atMs])).toEqual([["mark-compact", 25_649]]);
    expect(trace.between(0, 1e9).map((event) => event.kind)).toEqual(["mark-compact", "scavenge"]);
  });

  it("counts a tail RPC as in a server pause only when their times overlap", () => {
    const trace = new GcTrace();
    trace.take(scavenge, 27_287); // the isolate started at bench time 0: a pause from 27,274.64 to 27,287
    const window = { fromMs: 27_000, toMs: 28_000 };
    // 98 fast RPCs well away from the pause, one slow RPC across it, and one as slow after it.
    const intervals: number[] = [];
    for (let i = 0; i < 98; i++) intervals.push(27_500 + i, 27_501 + i);
    intervals.push(27_270, 27_300, 27_600, 27_630);
    const summary = summarizeGcWindow(trace.between(window.fromMs, window.toMs), [], window, intervals);
    expect(summary.scavenges).toEqual({ count: 1, p50Ms: 12.36, p99Ms: 12.36, maxMs: 12.36, totalMs: 12.4 });
    expect(summary.pausedPercent).toBe(1.2);
    expect(summary.tail).toEqual({ thresholdMs: 30, rpcs: 2, inServerGcPercent: 50, inBenchGcPercent: 0, allRpcsInServerGcPercent: 1 });
  });
});
