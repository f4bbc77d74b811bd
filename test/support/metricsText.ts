/** The value of one sample of a Prometheus exposition (`name{labels} value`), 0 when absent. */
export function sampleValue(metrics: string, name: string, labels: string): number {
  return Number(metrics.split("\n").find((line) => line.startsWith(`${name}{${labels}}`))?.split(" ").at(-1) ?? 0);
}
