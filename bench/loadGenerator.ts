import { setTimeout as sleep } from "node:timers/promises";
import { performance } from "node:perf_hooks";
import { emptySummary, round1, summarize, type LatencySummary } from "./stats.js";

/**
 * Drives a scenario's rounds against a server and measures them.
 *
 * A round is one unit of work of a scenario (one RPC for `bare`, initiate + validate for the
 * verification round trip); every RPC inside it goes through the {@link Recorder}, which times it
 * and classifies its outcome. Two modes:
 *
 * - closed loop: `concurrency` loops, each starting its next round when the last one ends, for a
 *   fixed time: the maximum throughput at that concurrency;
 * - fixed rate: rounds start on a schedule (a token bucket at `ratePerSecond`, open loop) whatever
 *   the answers do; latency is counted from the scheduled start, so a stalled server shows up
 *   as latency instead of silently lowering the offered load (no coordinated omission).
 *
 * Only rounds and RPCs that start inside the measured window (after the warm-up, before the end)
 * are counted; in-flight work at the end is awaited (bounded) but not counted. It always stops by
 * itself: no new round starts after the end, and every RPC the scenarios make carries a deadline.
 */

export interface Recorder {
  /** Runs one RPC and times it; a failure is an error and ends the round. */
  call<T>(rpc: () => Promise<T>): Promise<T>;
  /** Runs one RPC that must fail as `isExpected` says; a success or any other failure is an error. */
  callExpectingFailure(rpc: () => Promise<unknown>, isExpected: (error: unknown) => boolean): Promise<void>;
}

/** One round of a scenario; `slot` picks the client (connection) the round should use. */
export type Round = (recorder: Recorder, slot: number) => Promise<void>;

export type LoadMode = { readonly kind: "closed" } | { readonly kind: "fixed-rate"; readonly ratePerSecond: number; readonly maxInFlight: number };

export interface LoadOptions {
  /** Closed loop: loops running at once. Fixed rate: the slots rounds are spread over. */
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly mode: LoadMode;
  /** How an unexpected failure is described in `errorSamples`. */
  readonly describeError?: (error: unknown) => string;
  /** Called when the measured window opens and closes (CPU readings of the server). */
  readonly onMeasureStart?: () => void;
  readonly onMeasureEnd?: () => void;
  /** Longest wait for in-flight rounds after the end before giving up on them. Default 15 s. */
  readonly drainTimeoutMs?: number;
  /** Also receives every latency measured in the window, so that runs side by side can be summarized as one. */
  readonly latencySink?: LatencySamples;
  /** Also receives each timed RPC of the window as two numbers, its start and its end (performance.now()), to line up with GC pauses. */
  readonly rpcIntervals?: number[];
}

/** Latencies in milliseconds, per RPC and per round. */
export interface LatencySamples {
  readonly rpc: number[];
  readonly round: number[];
}

export interface LoadResult {
  readonly mode: "closed" | "fixed-rate";
  readonly concurrency: number;
  readonly targetRatePerSecond?: number;
  readonly warmupSeconds: number;
  readonly measuredSeconds: number;
  /** RPCs started in the window, answered as the scenario expected or not. */
  readonly rpcs: number;
  readonly rounds: number;
  readonly rpcPerSecond: number;
  readonly roundsPerSecond: number;
  /** Unexpected failures in the measured window (any failed RPC the scenario did not ask for). */
  readonly errors: number;
  /** Unexpected failures during the warm-up, not in `errors` but reported all the same. */
  readonly warmupErrors: number;
  /** Failures the scenario made on purpose (e.g. wrong codes), answered as expected. */
  readonly expectedFailures: number;
  /** Fixed rate only: scheduled rounds not started because `maxInFlight` were still running. */
  readonly dropped: number;
  /** Rounds still running when the drain timed out. */
  readonly abandoned: number;
  /** Per RPC, from its start to its answer. */
  readonly latencyMs: LatencySummary;
  /** Per round; with a fixed rate, from its scheduled start. */
  readonly roundLatencyMs: LatencySummary;
  /** A few distinct unexpected failures, to say what went wrong. */
  readonly errorSamples: readonly string[];
}

class RoundAborted extends Error {}

export async function runLoad(round: Round, options: LoadOptions): Promise<LoadResult> {
  const describe = options.describeError ?? ((error: unknown) => (error instanceof Error ? error.message : String(error)));
  const startAt = performance.now();
  const measureFrom = startAt + options.warmupMs;
  const endAt = measureFrom + options.durationMs;
  const inWindow = (t: number) => t >= measureFrom && t < endAt;

  const rpcLatencies: number[] = [];
  const timed = (started: number) => {
    const ended = performance.now();
    rpcLatencies.push(ended - started);
    options.rpcIntervals?.push(started, ended);
  };
  const roundLatencies: number[] = [];
  const samples = new Set<string>();
  let rpcs = 0;
  let rounds = 0;
  let errors = 0;
  let warmupErrors = 0;
  let expectedFailures = 0;
  let dropped = 0;

  const unexpected = (startedAt: number, error: unknown) => {
    if (inWindow(startedAt)) errors++;
    else if (startedAt < measureFrom) warmupErrors++;
    if (samples.size < 5) samples.add(describe(error));
  };

  const recorder: Recorder = {
    async call(rpc) {
      const started = performance.now();
      try {
        const answer = await rpc();
        if (inWindow(started)) {
          rpcs++;
          timed(started);
        }
        return answer;
      } catch (error) {
        if (inWindow(started)) rpcs++;
        unexpected(started, error);
        throw new RoundAborted();
      }
    },
    async callExpectingFailure(rpc, isExpected) {
      const started = performance.now();
      let failure: { error: unknown } | undefined;
      try {
        await rpc();
      } catch (error) {
        failure = { error };
      }
      const counted = inWindow(started);
      if (counted) rpcs++;
      if (failure !== undefined && isExpected(failure.error)) {
        if (counted) {
          expectedFailures++;
          timed(started);
        }
        return;
      }
      unexpected(started, failure === undefined ? new Error("the call succeeded where the scenario expected a failure") : failure.error);
      throw new RoundAborted();
    },
  };

  const runRound = async (slot: number, latencyFrom: number) => {
    const started = performance.now();
    try {
      await round(recorder, slot);
      if (inWindow(latencyFrom)) {
        rounds++;
        roundLatencies.push(performance.now() - latencyFrom);
      }
    } catch (error) {
      // An RPC failure is already counted; anything else is the scenario's own failure.
      if (!(error instanceof RoundAborted)) unexpected(started, error);
    }
  };

  let measureStarted = false;
  let measureEnded = false;
  const timers = [
    setTimeout(() => ((measureStarted = true), options.onMeasureStart?.()), Math.max(0, measureFrom - performance.now())),
    setTimeout(() => ((measureEnded = true), options.onMeasureEnd?.()), Math.max(0, endAt - performance.now())),
  ];
  const running = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    running.add(work);
    void work.finally(() => running.delete(work));
  };

  if (options.mode.kind === "closed") {
    for (let slot = 0; slot < options.concurrency; slot++) {
      track(
        (async () => {
          while (performance.now() < endAt) await runRound(slot, performance.now());
        })(),
      );
    }
  } else {
    const { ratePerSecond, maxInFlight } = options.mode;
    const intervalMs = 1000 / ratePerSecond;
    let scheduled = 0;
    let inFlight = 0;
    while (performance.now() < endAt) {
      const now = performance.now();
      for (let due = startAt + scheduled * intervalMs; due <= now && due < endAt; due = startAt + scheduled * intervalMs) {
        const slot = scheduled % options.concurrency;
        scheduled++;
        if (inFlight >= maxInFlight) {
          if (inWindow(due)) dropped++;
          continue;
        }
        inFlight++;
        track(runRound(slot, due).finally(() => inFlight--));
      }
      await sleep(Math.max(1, startAt + scheduled * intervalMs - performance.now()));
    }
  }

  const drainTimeoutMs = options.drainTimeoutMs ?? 15_000;
  const drained = await Promise.race([Promise.all(running).then(() => true), sleep(Math.max(0, endAt - performance.now()) + drainTimeoutMs, false)]);
  for (const timer of timers) clearTimeout(timer);
  // The last closed-loop round can end after endAt but before a late timer fires: the window's
  // CPU readings must still be closed, or the run reports 0% CPU.
  if (measureStarted && !measureEnded) options.onMeasureEnd?.();
  if (options.latencySink !== undefined) {
    // One by one: spreading 100k samples into push() would exceed the call stack.
    for (const sample of rpcLatencies) options.latencySink.rpc.push(sample);
    for (const sample of roundLatencies) options.latencySink.round.push(sample);
  }
  const measuredSeconds = options.durationMs / 1000;

  return {
    mode: options.mode.kind,
    concurrency: options.concurrency,
    ...(options.mode.kind === "fixed-rate" ? { targetRatePerSecond: options.mode.ratePerSecond } : {}),
    warmupSeconds: options.warmupMs / 1000,
    measuredSeconds,
    rpcs,
    rounds,
    rpcPerSecond: round1(rpcs / measuredSeconds),
    roundsPerSecond: round1(rounds / measuredSeconds),
    errors,
    warmupErrors,
    expectedFailures,
    dropped,
    abandoned: drained ? 0 : running.size,
    latencyMs: rpcLatencies.length === 0 ? emptySummary : summarize(rpcLatencies),
    roundLatencyMs: roundLatencies.length === 0 ? emptySummary : summarize(roundLatencies),
    errorSamples: [...samples],
  };
}
