import { connect } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StartRefused } from "../../src/errors/startRefused.js";
import { createLogger } from "../../src/observability/logger.js";
import { listenForMetrics } from "../../src/server/metricsServer.js";
import { sampleValue, scrapeMetrics } from "../support/metricsText.js";
import { startTestServer, type TestServer } from "../support/server.js";

/** What the API port said: status, content type, body. */
interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** A request over HTTP/2 without TLS (h2c, as gRPC clients speak), whatever the method. */
async function overHttp2(baseUrl: string, method: string, path: string): Promise<Answer> {
  const session = connect(baseUrl);
  try {
    return await new Promise<Answer>((resolve, reject) => {
      const stream = session.request({ ":method": method, ":path": path });
      let status = 0;
      let contentType: string | undefined;
      let body = "";
      stream.on("response", (headers) => {
        status = Number(headers[":status"]);
        contentType = headers["content-type"];
      });
      stream.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      stream.on("end", () => resolve({ status, contentType, body }));
      stream.on("error", reject);
      stream.end();
    });
  } finally {
    session.close();
  }
}

async function overHttp1(baseUrl: string, method: string, path: string): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, { method, ...(method === "POST" ? { headers: { "content-type": "application/json" }, body: "{}" } : {}) });
  return { status: response.status, contentType: response.headers.get("content-type") ?? undefined, body: await response.text() };
}

const notServedHere = {
  code: "unimplemented",
  message: "/metrics is not served on this port: Prometheus metrics are served on the metrics port (METRICS_PORT), not the API port",
};

describe("metrics on a port of their own", () => {
  let server: TestServer;
  /** The API port as a caller on this machine reaches it (HOST is 0.0.0.0 here). */
  let apiUrl: string;

  beforeAll(async () => {
    // Every interface for the API, as in production, to show the metrics port does not follow HOST.
    server = await startTestServer("real", "metrics_port", { HOST: "0.0.0.0" });
    apiUrl = `http://127.0.0.1:${server.server.http.port}`;
    await overHttp1(apiUrl, "POST", "/grpc.health.v1.Health/Check");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("is bound to 127.0.0.1 by default, whatever HOST says", () => {
    expect(server.config.listen.host).toBe("0.0.0.0");
    expect(server.server.metrics?.address).toBe("127.0.0.1");
    expect(server.metricsUrl).toBe(`http://127.0.0.1:${server.server.metrics?.port}/metrics`);
    expect(server.server.metrics?.port).not.toBe(server.server.http.port);
  });

  it("serves GET /metrics (a query string too) with Prometheus' content type, and HEAD", async () => {
    const text = await scrapeMetrics(`${server.metricsUrl}?scrape=1`);
    expect(sampleValue(text, "rpc_server_call_duration_seconds_count", 'rpc_system="connect_rpc",rpc_service="grpc.health.v1.Health",rpc_method="Check",rpc_response_status_code="OK"')).toBe(1);
    const got = await fetch(server.metricsUrl);
    expect(got.headers.get("content-type")).toBe(server.server.app.metrics.registry.contentType);
    const head = await fetch(server.metricsUrl, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe(server.server.app.metrics.registry.contentType);
    expect(await head.text()).toBe("");
  });

  it("answers 405 naming GET to another method on /metrics, and 404 to any other path", async () => {
    const posted = await fetch(server.metricsUrl, { method: "POST", body: "{}" });
    expect(posted.status).toBe(405);
    expect(posted.headers.get("allow")).toBe("GET, HEAD");
    expect(await posted.text()).toContain("GET /metrics");
    for (const path of ["/", "/metrics/x", "/grpc.health.v1.Health/Check"]) {
      const other = await fetch(new URL(path, server.metricsUrl), { method: path.startsWith("/grpc") ? "POST" : "GET" });
      expect(other.status, path).toBe(404);
    }
  });

  it.each([
    ["HTTP/1.1", overHttp1],
    ["HTTP/2", overHttp2],
  ] as const)("never serves metrics on the API port over %s: GET and POST get the same refusal, pointing to the metrics port", async (_, request) => {
    for (const method of ["GET", "POST"]) {
      const answer = await request(apiUrl, method, "/metrics");
      expect(answer.status, method).toBe(501);
      expect(answer.contentType, method).toBe("application/json");
      expect(JSON.parse(answer.body), method).toEqual(notServedHere);
      expect(answer.body).not.toMatch(/# (HELP|TYPE)|rpc_server_|onetime_/);
    }
    const head = await request(apiUrl, "HEAD", "/metrics");
    expect(head.status).toBe(501);
    expect(head.body).toBe("");
  });

  it("refuses to start on a metrics port in use, naming METRICS_PORT", async () => {
    const taken = { host: "127.0.0.1", port: server.server.metrics!.port };
    const refused = listenForMetrics({ contentType: "text/plain", read: async () => "" }, taken, createLogger("silent"));
    await expect(refused).rejects.toBeInstanceOf(StartRefused);
    await expect(refused).rejects.toThrow(`METRICS_PORT ${taken.port} on 127.0.0.1 is already in use`);
  });

  it("serves no metrics port at all with METRICS_PORT=off", async () => {
    const off = await startTestServer("real", "metrics_off", { METRICS_PORT: "off" });
    try {
      expect(off.server.metrics).toBeUndefined();
      expect(JSON.parse((await overHttp1(off.url, "GET", "/metrics")).body)).toEqual(notServedHere);
    } finally {
      await off.stop();
    }
  });
});
