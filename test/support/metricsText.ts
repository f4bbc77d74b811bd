/** The text a metrics port serves at `metricsUrl` (a TestServer's), failing on anything but 200. */
export async function scrapeMetrics(metricsUrl: string): Promise<string> {
  const response = await fetch(metricsUrl);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${metricsUrl} answered ${response.status}: ${text}`);
  return text;
}

/** The value of one sample of a Prometheus exposition (`name{labels} value`), 0 when absent. */
export function sampleValue(metrics: string, name: string, labels: string): number {
  return Number(metrics.split("\n").find((line) => line.startsWith(`${name}{${labels}}`))?.split(" ").at(-1) ?? 0);
}
