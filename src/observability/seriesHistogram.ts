import type { Metric, Registry, RegistryContentType } from "prom-client";

/** One label set of a histogram, held by its caller: observing finds a bucket and adds, nothing more. */
export interface HistogramSeries {
  observe(value: number): void;
}

export interface SeriesHistogram<L extends string> {
  /**
   * The series of these labels (a label left out is not shown, as with prom-client), the same one
   * for equal labels; resolve it once and keep it, since this is the slow part.
   */
  series(labels: Readonly<Partial<Record<L, string>>>): HistogramSeries;
}

export interface SeriesHistogramOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  /** Upper bounds, ascending, without +Inf. */
  buckets: readonly number[];
}

/**
 * A Prometheus histogram for a hot path. prom-client's own Histogram validates and hashes the
 * label object at every `observe` (its `labels()` children too), which a server pays on every
 * call; here a caller resolves a series once and then only bumps numbers. At scrape time it
 * answers the registry as prom-client's Histogram would (same samples, labels and order), so the
 * exposition and the cluster aggregation of workers' metrics cannot tell the two apart.
 */
export function createSeriesHistogram<L extends string>(registry: Registry<RegistryContentType>, options: SeriesHistogramOptions<L>): SeriesHistogram<L> {
  const family = new HistogramFamily(options);
  // prom-client's Registry reads a metric's name, help, type, aggregator, get() and reset() and no
  // more; its types only admit its own four classes.
  registry.registerMetric(family as unknown as Metric);
  return family;
}

class Series implements HistogramSeries {
  /** Per bucket, not cumulative; the last slot counts values above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    // As prom-client refuses it: one NaN would turn the sum into NaN for good.
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
    this.counts[bucket]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

interface Sample {
  value: number;
  metricName: string;
  labels: Record<string, string | number>;
}

class HistogramFamily<L extends string> implements SeriesHistogram<L> {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly #bounds: readonly number[];
  /** By label values; in the order the series were made, which is the order prom-client lists them. */
  readonly #series = new Map<string, Series>();

  constructor({ name, help, labelNames, buckets }: SeriesHistogramOptions<L>) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.#bounds = [...buckets];
  }

  series(labels: Readonly<Partial<Record<L, string>>>): HistogramSeries {
    const key = JSON.stringify(this.labelNames.map((name) => labels[name]));
    let series = this.#series.get(key);
    if (series === undefined) {
      // A label given as undefined is left out, as prom-client leaves it out.
      const shown = Object.fromEntries(Object.entries(labels).filter((entry): entry is [string, string] => entry[1] !== undefined));
      series = new Series(shown, this.#bounds);
      this.#series.set(key, series);
    }
    return series;
  }

  /** prom-client's Histogram.get(): per series its cumulative buckets with `le` first, +Inf, _sum, _count. */
  async get(): Promise<{ name: string; help: string; type: "histogram"; aggregator: "sum"; values: Sample[] }> {
    const bucketName = `${this.name}_bucket`;
    const values: Sample[] = [];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((le, bucket) => {
        cumulative += counts[bucket]!;
        values.push({ value: cumulative, metricName: bucketName, labels: { le, ...labels } });
      });
      values.push({ value: count, metricName: bucketName, labels: { le: "+Inf", ...labels } });
      values.push({ value: sum, metricName: `${this.name}_sum`, labels: { ...labels } });
      values.push({ value: count, metricName: `${this.name}_count`, labels: { ...labels } });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes every series; unlike prom-client it keeps them listed, since callers hold them. */
  reset(): void {
    for (const series of this.#series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
