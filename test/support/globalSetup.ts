import type { TestProject } from "vitest/node";
import { startRedisCluster } from "./redisCluster.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The nodes of the run's shared Redis Cluster (3 primaries on loopback). */
    redisClusterUrls: readonly string[];
  }
}

/**
 * One Redis Cluster for the whole run, started before any test file: the contract suites and the
 * end-to-end tests that run on Cluster share it, each under its own key prefix. It fails the run,
 * never skips, when redis-server or redis-cli is missing.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster();
  project.provide("redisClusterUrls", cluster.urls);
  return () => cluster.stop();
}
