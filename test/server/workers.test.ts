import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { sampleValue, scrapeMetrics } from "../support/metricsText.js";
import { npmStart } from "../support/npmStart.js";

/** One health check on a connection of its own, so the primary's round robin spreads them over the workers. */
function checkOnNewConnection(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = request(`${url}/grpc.health.v1.Health/Check`, { method: "POST", agent: false, headers: { "content-type": "application/json" } }, (response) => {
      response.resume().once("end", () => resolve(response.statusCode ?? 0));
    });
    call.once("error", reject).end("{}");
  });
}

describe("several workers on one port", () => {
  it("serves from every worker and drains them all on SIGTERM", async () => {
    const started = npmStart("workers", { WORKERS: "2" }, 2);
    try {
      const url = await started.serving;
      const serving = started.lines.filter((entry) => typeof entry.url === "string");
      // Workers listen on port 0 through the primary, which hands them one shared port.
      expect(new Set(serving.map((entry) => entry.url)).size).toBe(1);
      expect(new Set(serving.map((entry) => entry.pid)).size).toBe(2);
      for (let i = 0; i < 10; i++) {
        const response = await fetch(`${url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        expect(response.status).toBe(200);
      }
      started.child.kill("SIGTERM");
      expect(await started.exited).toBe(0);
      expect(started.lines.filter((entry) => entry.msg === "stopped")).toHaveLength(2);
    } finally {
      await started.cleanUp();
    }
  }, 60_000);

  it("serves every worker's metrics, summed, from the primary on one metrics port", async () => {
    const started = npmStart("workers_metrics", { WORKERS: "2" }, 2);
    try {
      const url = await started.serving;
      const primary = started.lines.find((entry) => typeof entry.metricsUrl === "string");
      expect(primary?.msg).toMatch(/^serving Prometheus metrics/);
      const workerPids = new Set(started.lines.filter((entry) => typeof entry.url === "string").map((entry) => entry.pid));
      // The primary serves them, once: no worker says it does.
      expect(workerPids.has(primary?.pid)).toBe(false);
      const metricsUrl = primary!.metricsUrl as string;
      expect(new URL(metricsUrl).hostname).toBe("127.0.0.1");

      const calls = 12;
      for (let i = 0; i < calls; i++) expect(await checkOnNewConnection(url)).toBe(200);
      // Each worker served some of them (its rpc log lines say so) ...
      const checks = () => started.lines.filter((entry) => entry.msg === "rpc" && entry.procedure === "grpc.health.v1.Health/Check");
      await expect.poll(() => checks().length).toBe(calls);
      for (const pid of workerPids) expect(checks().some((entry) => entry.pid === pid), `worker ${String(pid)}`).toBe(true);
      // ... and the one scrape counts them all.
      const labels = 'rpc_system="connect_rpc",rpc_service="grpc.health.v1.Health",rpc_method="Check",rpc_response_status_code="OK"';
      expect(sampleValue(await scrapeMetrics(metricsUrl), "rpc_server_call_duration_seconds_count", labels)).toBe(calls);
      // The API port serves none of it.
      expect((await fetch(`${url}/metrics`)).status).toBe(501);

      started.child.kill("SIGTERM");
      expect(await started.exited).toBe(0);
    } finally {
      await started.cleanUp();
    }
  }, 60_000);
});
