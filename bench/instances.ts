import { startRedisCluster, type TestRedisCluster } from "../test/support/redisCluster.js";
import type { Protocol } from "./clients/types.js";
import type { Aggregate, InstanceShare } from "./instanceAggregate.js";
import type { PartContext } from "./partContext.js";
import { instancesTable } from "./report/instancesTable.js";
import type { ScenarioRow } from "./report/types.js";
import { runAcrossInstances } from "./runAcrossInstances.js";
import { runScenario } from "./runScenario.js";
import { scenarios } from "./scenarios/index.js";
import type { ScenarioName } from "./scenarios/scenario.js";
import { TotpConsumers } from "./scenarios/totpConsumers.js";
import type { OtherRedis } from "./server/backends.js";
import type { RunningServer } from "./server/serverProcess.js";

/** One scenario on one protocol: instance 1 alone, then every instance at once. */
export interface InstancesRun {
  readonly scenario: ScenarioName;
  readonly protocol: Protocol;
  readonly instances: number;
  readonly workersPerInstance: number;
  readonly clientsPerInstance: number;
  /** Instance 1 alone with its own clients: the reference the aggregate is compared with. */
  readonly alone: ScenarioRow;
  readonly perInstance: readonly InstanceShare[];
  readonly aggregate: Aggregate;
  /** The aggregate's rounds/s over instance 1 alone's (null when the lone run served nothing). */
  readonly scalingFactor: number | null;
}

/**
 * `--instances <n>`: n servers of one deployment (real backend: one Postgres schema, one Redis
 * prefix, one ENCRYPTION_KEYS), each on its own port. Per protocol and scenario, instance 1 runs
 * alone with its clients, then every instance at once, each with clients of its own, as n times
 * the callers of one instance would. Nothing is pinned: n servers, the load generator and the
 * stores share the machine's cores, and the scheduler places them better than a fixed split of
 * two cores could; the lone run is unpinned too, so the factor compares like with like. With
 * --redis-cluster the deployment's Redis is a Cluster started here with the tests' own helper.
 */
export async function runInstances(context: PartContext): Promise<InstancesRun[]> {
  const { settings, progress } = context;
  const runs: InstancesRun[] = [];
  let cluster: TestRedisCluster | undefined;
  if (settings.redisCluster) {
    progress("instances: starting a Redis Cluster on loopback (3 primaries, no replicas)");
    cluster = await startRedisCluster();
  }
  try {
    const redis: OtherRedis | undefined = cluster === undefined ? undefined : { url: cluster.urls.join(","), cluster: true };
    await withInstances(context, settings.instances, redis, [], async (servers) => void runs.push(...(await measureInstances(context, servers))));
  } finally {
    await cluster?.stop();
  }
  context.print(instancesTable(runs, cluster === undefined ? "Redis at REDIS_URL" : "a Redis Cluster of 3 primaries on loopback"));
  return runs;
}

/** Per protocol and scenario: instance 1 alone, then every instance at once. */
async function measureInstances(context: PartContext, servers: readonly RunningServer[]): Promise<InstancesRun[]> {
  const { settings, progress } = context;
  const runs: InstancesRun[] = [];
  const totp = servers.map(() => new TotpConsumers());
  for (const protocol of settings.protocols) {
    const pools = servers.map((server) => context.pool(protocol, server.url));
    try {
      let bare: ScenarioRow | undefined;
      for (const name of settings.scenarios) {
        const scenario = scenarios[name];
        progress(`instances/${protocol}: ${name} on instance 1 alone`);
        const alone = await runScenario({
          section: "instances",
          server: servers[0]!,
          pool: pools[0]!,
          scenario,
          concurrency: settings.concurrency,
          warmupMs: settings.warmupMs,
          durationMs: settings.durationMs,
          mode: { kind: "closed" },
          expectedRoundsPerSecond: bare === undefined ? undefined : bare.load.rpcPerSecond / scenario.rpcsPerRound,
          totpConsumers: totp[0]!,
        });
        if (name === "bare") bare = alone;
        const aloneRow: ScenarioRow = { ...alone, notes: { ...alone.notes, instances: `1 of ${servers.length}, alone` } };
        context.rows.push(aloneRow);
        progress(`  ${alone.load.roundsPerSecond} rounds/s, p99 ${alone.load.latencyMs.p99} ms, errors ${alone.load.errors}`);

        progress(`instances/${protocol}: ${name} on all ${servers.length} instances at once`);
        const { perInstance, aggregate } = await runAcrossInstances({
          targets: servers.map((server, i) => ({ server, pool: pools[i]!, totpConsumers: totp[i]! })),
          scenario,
          concurrency: settings.concurrency,
          warmupMs: settings.warmupMs,
          durationMs: settings.durationMs,
          expectedRoundsPerSecond: alone.load.roundsPerSecond,
        });
        const scalingFactor = alone.load.roundsPerSecond > 0 ? Math.round((aggregate.roundsPerSecond / alone.load.roundsPerSecond) * 100) / 100 : null;
        runs.push({
          scenario: name,
          protocol,
          instances: servers.length,
          workersPerInstance: settings.workersPerInstance,
          clientsPerInstance: settings.concurrency,
          alone: aloneRow,
          perInstance,
          aggregate,
          scalingFactor,
        });
        progress(
          `  ${aggregate.roundsPerSecond} rounds/s together (x${scalingFactor ?? "-"} instance 1 alone), p99 ${aggregate.latencyMs.p99} ms, errors ${aggregate.errors}` +
            (aggregate.errorSamples.length > 0 ? ` (${aggregate.errorSamples[0]})` : ""),
        );
      }
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
    }
  }
  return runs;
}

/** Starts `count` instances of one deployment, one after the other (the first creates the schema), runs `body`, stops them all. */
async function withInstances(
  context: PartContext,
  count: number,
  redis: OtherRedis | undefined,
  started: readonly RunningServer[],
  body: (servers: readonly RunningServer[]) => Promise<void>,
): Promise<void> {
  if (started.length === count) return body(started);
  const first = started[0];
  await context.withServer(
    "real",
    context.settings.workersPerInstance,
    "instances",
    (server) => withInstances(context, count, redis, [...started, server], body),
    { pin: false, ...(first === undefined ? (redis === undefined ? {} : { redis }) : { sameDeploymentAs: first }) },
  );
}
