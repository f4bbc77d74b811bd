/** Latency summary in milliseconds, from a plain array of samples (sorted once, here). */
export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export const emptySummary: LatencySummary = { count: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 };

/** Nearest-rank percentiles; the input is sorted in place. */
export function summarize(samplesMs: number[]): LatencySummary {
  if (samplesMs.length === 0) return emptySummary;
  samplesMs.sort((a, b) => a - b);
  let total = 0;
  for (const sample of samplesMs) total += sample;
  const rank = (p: number): number => samplesMs[Math.min(samplesMs.length - 1, Math.max(0, Math.ceil((p / 100) * samplesMs.length) - 1))]!;
  return {
    count: samplesMs.length,
    mean: round3(total / samplesMs.length),
    p50: round3(rank(50)),
    p90: round3(rank(90)),
    p95: round3(rank(95)),
    p99: round3(rank(99)),
    max: round3(samplesMs[samplesMs.length - 1]!),
  };
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
