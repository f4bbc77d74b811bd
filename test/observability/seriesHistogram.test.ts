import { AggregatorRegistry, Histogram, Registry, type RegistryContentType } from "prom-client";
import { describe, expect, it } from "vitest";
import { createSeriesHistogram } from "../../src/observability/seriesHistogram.js";

type Labels = "kind" | "outcome";
const options = { name: "work_duration_seconds", help: "Work, by kind and outcome.", labelNames: ["kind", "outcome"] as Labels[], buckets: [0.01, 0.1, 1] };

/** Observations as (labels, value): values on a bound, between bounds, above the last, zero; label sets interleaved and written in two key orders. */
const observations: [Record<Labels, string>, number][] = [
  [{ kind: "a", outcome: "ok" }, 0.01],
  [{ kind: "b", outcome: "failed" }, 7],
  [{ outcome: "ok", kind: "a" }, 0.05],
  [{ kind: "a", outcome: "failed" }, 0],
  [{ kind: "b", outcome: "failed" }, 1],
  [{ kind: "a", outcome: "ok" }, 0.1000001],
  [{ kind: "c\"\n", outcome: "ok" }, 0.3],
];

/** The same observations made through prom-client's Histogram, and through the series histogram. */
function registries(contentType: RegistryContentType = Registry.PROMETHEUS_CONTENT_TYPE, from = observations) {
  const reference = new Registry<RegistryContentType>();
  reference.setContentType(contentType);
  const histogram = new Histogram({ ...options, registers: [reference] });
  for (const [labels, value] of from) histogram.observe(labels, value);
  const series = new Registry<RegistryContentType>();
  series.setContentType(contentType);
  const family = createSeriesHistogram(series, options);
  for (const [labels, value] of from) family.series(labels).observe(value);
  return { reference, series };
}

describe("series histogram", () => {
  it("exposes what prom-client's Histogram exposes for the same observations", async () => {
    const { reference, series } = registries();
    const text = await series.metrics();
    expect(text).toBe(await reference.metrics());
    expect(text).toContain('work_duration_seconds_bucket{le="0.1",kind="a",outcome="ok"} 2\n');
    expect(text).toContain('work_duration_seconds_count{kind="b",outcome="failed"} 2\n');
  });

  it("exposes the same in OpenMetrics", async () => {
    const { reference, series } = registries(Registry.OPENMETRICS_CONTENT_TYPE);
    expect(await series.metrics()).toBe(await reference.metrics());
  });

  it("sums across workers as prom-client's Histogram does", async () => {
    // What each worker sends the primary over IPC: its registry as JSON.
    const worker = async (registry: Registry<RegistryContentType>) => JSON.parse(JSON.stringify(await registry.getMetricsAsJSON())) as Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;
    const first = registries();
    const second = registries(Registry.PROMETHEUS_CONTENT_TYPE, observations.slice(2));
    const referenceSum = AggregatorRegistry.aggregate([await worker(first.reference), await worker(second.reference)]);
    const seriesSum = AggregatorRegistry.aggregate([await worker(first.series), await worker(second.series)]);
    const text = await seriesSum.metrics();
    expect(text).toBe(await referenceSum.metrics());
    expect(text).toContain('work_duration_seconds_count{kind="a",outcome="ok"} 5\n');
  });

  it("hands out one series per label set, and declares its label names", () => {
    const registry = new Registry();
    const family = createSeriesHistogram(registry, options);
    expect(family.series({ kind: "a", outcome: "ok" })).toBe(family.series({ outcome: "ok", kind: "a" }));
    expect(family.series({ kind: "a", outcome: "ok" })).not.toBe(family.series({ kind: "a", outcome: "failed" }));
    expect((registry.getSingleMetric(options.name) as { labelNames?: string[] } | undefined)?.labelNames).toEqual(["kind", "outcome"]);
  });

  it("refuses a value that is not a finite number, as prom-client does", async () => {
    const registry = new Registry();
    const series = createSeriesHistogram(registry, options).series({ kind: "a", outcome: "ok" });
    expect(() => series.observe(Number.NaN)).toThrow(TypeError);
    expect(() => series.observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(await registry.metrics()).toContain('work_duration_seconds_count{kind="a",outcome="ok"} 0\n');
  });

  it("counts from zero again after a reset", async () => {
    const { series } = registries();
    series.resetMetrics();
    const samples = (await series.metrics()).split("\n").filter((line) => line.startsWith("work_duration_seconds"));
    expect(samples.length).toBeGreaterThan(0);
    for (const line of samples) expect(line.endsWith(" 0")).toBe(true);
  });
});
