import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { secretShard } from "../../src/storage/secretShards.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { startRedisCluster, type StoppedNode, type TestRedisCluster } from "../support/redisCluster.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { verificationClient, type VerificationClient } from "../support/verificationClient.js";

/** REDIS_TIMEOUT_MS here: every call touching Redis answers within it, undo included. */
const budgetMs = 1_000;
// A bound, not a speed: what the call does besides Redis, on a loaded machine. Before one
// deadline per call, a call took the put's timeout, then the undo's, then a refund retried
// through CLUSTERDOWN: over 5 s with the default 2 s timeout.
const slackMs = 1_500;

interface Answer {
  readonly outcome: "ok" | "unavailable" | "other";
  readonly ms: number;
  readonly detail?: string;
}

/**
 * A 3-primary Redis Cluster with no replicas loses a primary: nothing can take over its slots. The
 * calls that need it, and once the cluster marks it failed every call (the cluster stops serving
 * when a slot has no primary, `cluster-require-full-coverage yes`), answer `unavailable`, each
 * within its one deadline; the log says once which node was lost and once that it is back; and
 * once it is restarted the same process serves again.
 */
describe("a Redis Cluster without replicas losing a primary", () => {
  let cluster: TestRedisCluster;
  let server: TestServer;
  let client: VerificationClient;
  const captured = capturingLogger("info");

  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 0, nodeTimeoutMs: 1_000 });
    server = await startTestServer(
      "real",
      "cluster-outage",
      { REDIS_URL: cluster.urls.join(","), REDIS_CLUSTER: "true", REDIS_TIMEOUT_MS: String(budgetMs), VERIFICATION_SEND_LIMIT: "1000", VERIFICATION_RESEND_DELAY_SECONDS: "0" },
      {},
      captured.logger,
    );
    client = await verificationClient(server.url, "connect-json");
  }, 60_000);

  afterAll(async () => {
    await server?.stop().catch(() => undefined);
    await cluster?.stop();
  });

  async function initiate(): Promise<Answer> {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    try {
      await client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: `outage-${randomUUID().slice(0, 8)}@example.com`, policy: { forcedCode: "246810" } });
      return { outcome: "ok", ms: ms() };
    } catch (error) {
      const { code, rawMessage } = ConnectError.from(error);
      return { outcome: code === Code.Unavailable ? "unavailable" : "other", ms: ms(), detail: rawMessage };
    }
  }

  const wave = (count: number) => Promise.all(Array.from({ length: count }, initiate));
  const linesSaying = (msg: string) => captured.records.filter((record) => record.msg === msg);

  it("answers unavailable within one deadline per call, names the lost node once, and says once that it is back", async () => {
    expect((await wave(3)).map((answer) => answer.outcome)).toEqual(["ok", "ok", "ok"]);

    const stopped: StoppedNode = await cluster.killPrimaryOf(`{pending:${secretShard("any")}}`);
    // Right away: the calls whose secret, limits or queue live on the lost primary fail; the
    // others are still served until the cluster marks it failed.
    const early = [...(await wave(12)), ...(await wave(12))];
    expect(early.filter((answer) => answer.outcome === "other")).toEqual([]);
    expect(early.some((answer) => answer.outcome === "unavailable")).toBe(true);
    // Once it is marked failed, every call, whichever primary its keys are on.
    await untilClusterState(cluster, "fail", stopped);
    const down = await wave(12);
    expect(down.map((answer) => answer.outcome)).toEqual(Array.from({ length: 12 }, () => "unavailable"));
    for (const answer of [...early, ...down].filter((each) => each.outcome === "unavailable")) expect(answer.ms).toBeLessThan(budgetMs + slackMs);

    await stopped.restart();
    await cluster.waitUntilHealthy();
    // The same process serves again, with no restart of its own.
    let answer = await initiate();
    for (let tries = 0; answer.outcome !== "ok" && tries < 40; tries++) {
      await sleep(250);
      answer = await initiate();
    }
    expect(answer.outcome).toBe("ok");
    // That call's keys may all be on the other primaries: the relays' next poll reaches the node.
    for (let tries = 0; !linesSaying("store connection back").some((line) => line.node === stopped.address) && tries < 40; tries++) await sleep(250);

    const lost = linesSaying("store connection lost");
    const back = linesSaying("store connection back");
    expect(lost.filter((line) => line.node === stopped.address)).toMatchObject([{ level: "warn", store: "redis", node: stopped.address }]);
    expect(back.filter((line) => line.node === stopped.address)).toMatchObject([{ level: "info", store: "redis", node: stopped.address }]);
    expect(captured.records.indexOf(back.find((line) => line.node === stopped.address)!)).toBeGreaterThan(captured.records.indexOf(lost.find((line) => line.node === stopped.address)!));
  }, 60_000);
});

/** Waits until every running node of the cluster reports `state` (the stopped one answers nothing). */
async function untilClusterState(cluster: TestRedisCluster, state: string, stopped: StoppedNode): Promise<void> {
  const ports = cluster.urls.map((url) => Number(new URL(url).port)).filter((port) => `127.0.0.1:${port}` !== stopped.address);
  for (let tries = 0; tries < 100; tries++) {
    const states = await Promise.all(ports.map((port) => clusterState(port)));
    if (states.every((each) => each === state)) return;
    await sleep(100);
  }
  throw new Error(`the cluster never reported cluster_state:${state}`);
}

async function clusterState(port: number): Promise<string> {
  const node = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  node.on("error", () => {});
  try {
    await node.connect();
    return /cluster_state:(\w+)/.exec(String(await node.call("CLUSTER", "INFO")))?.[1] ?? "unknown";
  } finally {
    node.disconnect();
  }
}
