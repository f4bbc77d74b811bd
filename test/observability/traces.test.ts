import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthTokenState } from "../../gen/onetime/v1/account_token_service_pb.js";
import { VerificationMethod } from "../../gen/onetime/v1/verification_service_pb.js";
import { accountTokenClient, user } from "../support/accountTokenClient.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { verificationClient } from "../support/verificationClient.js";
import { scrapeMetrics } from "../support/metricsText.js";

interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly attributes: Record<string, unknown>;
}

/** An OTLP/HTTP collector standing in for a real one: it keeps every span it is sent (JSON encoding). */
async function startCollector(): Promise<{ server: Server; url: string; spans: ReceivedSpan[]; paths: string[] }> {
  const spans: ReceivedSpan[] = [];
  const paths: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      paths.push(request.url ?? "");
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        resourceSpans: { scopeSpans: { spans: (Omit<ReceivedSpan, "attributes"> & { attributes?: { key: string; value: Record<string, unknown> }[] })[] }[] }[];
      };
      for (const resource of body.resourceSpans) {
        for (const scope of resource.scopeSpans) {
          for (const span of scope.spans) {
            const attributes = Object.fromEntries((span.attributes ?? []).map(({ key, value }) => [key, Object.values(value)[0]]));
            spans.push({ ...span, attributes });
          }
        }
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, paths };
}

describe("OpenTelemetry traces of a verification round trip", () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let server: TestServer;
  const traceId = randomBytes(16).toString("hex");
  const callerSpanId = randomBytes(8).toString("hex");
  const streamTraceId = randomBytes(16).toString("hex");
  const leftTraceId = randomBytes(16).toString("hex");
  const noWatchActive = async () =>
    (await scrapeMetrics(server.metricsUrl))
      .split("\n")
      .filter((line) => line.startsWith("rpc_server_active_requests{") && line.includes("WatchAuthToken"))
      .every((line) => line.endsWith(" 0"));
  let attachStartedAt = 0n;

  beforeAll(async () => {
    collector = await startCollector();
    let printed = "";
    server = await startTestServer(
      "real",
      "traces",
      { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: "onetime-under-test" },
      { consoleOutput: (text) => void (printed += text) },
    );
    // The caller's trace: every RPC span must continue it.
    const client = await verificationClient(server.url, "connect-json", ["service"], { traceparent: `00-${traceId}-${callerSpanId}-01` });
    const { verification } = await client.initiateVerification({
      method: VerificationMethod.EMAIL,
      consumer: "traced@example.com",
      policy: { forcedCode: "314159" },
    });
    // The relay sends while the code is live: wait for the email before using the code.
    for (let waited = 0; !printed.includes("314159"); waited += 20) {
      if (waited > 5_000) throw new Error("the email was not sent");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await client.validateVerification({ verificationId: verification!.verificationId, code: "314159" });
    // TOTP enrolment reads and writes Postgres within the call.
    await client.initiateVerification({ method: VerificationMethod.TOTP, consumer: "traced-totp" });
    // A server stream: its span lasts until the watch ends, which the attach causes.
    const device = await accountTokenClient(server.url, undefined, "grpc", { traceparent: `00-${streamTraceId}-${callerSpanId}-01` });
    const { authToken, deviceSecret } = await device.createAuthToken({});
    const states: AuthTokenState[] = [];
    for await (const message of device.watchAuthToken({ deviceSecret })) {
      states.push(message.state);
      if (message.state !== AuthTokenState.PENDING) break;
      attachStartedAt = BigInt(Date.now()) * 1_000_000n;
      await new Promise((resolve) => setTimeout(resolve, 50));
      await (await accountTokenClient(server.url, user("account-traced"))).attachAuthToken({ authToken: authToken!.token });
    }
    expect(states).toEqual([AuthTokenState.PENDING, AuthTokenState.ATTACHED]);
    // A watcher that leaves before the token changes.
    const leaving = new AbortController();
    const { deviceSecret: unattached } = await device.createAuthToken({});
    const left = await accountTokenClient(server.url, undefined, "grpc", { traceparent: `00-${leftTraceId}-${callerSpanId}-01` });
    await (async () => {
      for await (const message of left.watchAuthToken({ deviceSecret: unattached }, { signal: leaving.signal })) {
        if (message.state === AuthTokenState.PENDING) leaving.abort();
      }
    })().catch(() => undefined);
    // The server ends that stream (and its span) once it notices: when no watch is active any more.
    for (let waited = 0; !(await noWatchActive()); waited += 20) {
      if (waited > 5_000) throw new Error("the left watch did not end");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Stopping flushes the batch: every span is exported before the server is gone.
    await server.stop();
  });

  afterAll(async () => {
    await new Promise((resolve) => collector?.server.close(resolve));
  });

  it("exports one server span per RPC, continuing the caller's trace, with the RPC attributes", () => {
    expect(collector.paths.every((path) => path === "/v1/traces")).toBe(true);
    const rpcs = collector.spans.filter((span) => span.attributes["rpc.service"] === "onetime.v1.VerificationService");
    expect(rpcs.map((span) => span.name).sort()).toEqual([
      "onetime.v1.VerificationService/InitiateVerification",
      "onetime.v1.VerificationService/InitiateVerification",
      "onetime.v1.VerificationService/ValidateVerification",
    ]);
    for (const span of rpcs) {
      expect(span).toMatchObject({ traceId, parentSpanId: callerSpanId, kind: 2 });
      expect(span.attributes).toMatchObject({ "rpc.system": "connect_rpc", "rpc.service": "onetime.v1.VerificationService" });
      expect(span.attributes["onetime.request_id"]).toMatch(/.{8,}/);
    }
  });

  it("hangs the Redis scripts of each RPC under its span, named by script and never by key", () => {
    const childrenOf = (parent: ReceivedSpan) => collector.spans.filter((span) => span.parentSpanId === parent.spanId);
    // The email verification's spans (the TOTP one has Postgres children too).
    const rpc = (method: string) =>
      collector.spans.find(
        (span) => span.name === `onetime.v1.VerificationService/${method}` && childrenOf(span).every((child) => child.attributes["db.system.name"] === "redis"),
      )!;
    // Initiate: the send limits' admit, then the code stored with its message. Validate: one take.
    expect(childrenOf(rpc("InitiateVerification")).map((span) => span.name)).toEqual(["EVALSHA onetimeLimits_admit", "EVALSHA onetimeSecrets_put"]);
    expect(childrenOf(rpc("ValidateVerification")).map((span) => span.name)).toEqual(["EVALSHA onetimeSecrets_take"]);
    for (const span of [...childrenOf(rpc("InitiateVerification")), ...childrenOf(rpc("ValidateVerification"))]) {
      expect(span).toMatchObject({ traceId, kind: 3 });
      expect(span.attributes["db.system.name"]).toBe("redis");
      expect(JSON.stringify(span.attributes)).not.toMatch(/traced@example\.com|314159/);
    }
  });

  it("traces the relay's provider send as its own trace, and Postgres statements under their RPC", () => {
    const send = collector.spans.find((span) => span.name === "send email");
    expect(send).toMatchObject({ kind: 3, attributes: { "onetime.delivery.outcome": "accepted", "onetime.provider": "console" } });
    expect(send!.parentSpanId ?? "").toBe("");
    const totp = collector.spans.find((span) => span.name === "onetime.v1.VerificationService/InitiateVerification" && span.spanId !== undefined && collector.spans.some((child) => child.parentSpanId === span.spanId && child.attributes["db.system.name"] === "postgresql"));
    expect(totp).toBeDefined();
    // Idle polls of the relays leave no spans.
    expect(collector.spans.filter((span) => span.name.includes("onetimeQueue_claim"))).toEqual([]);
    expect(JSON.stringify(collector.spans)).not.toMatch(/314159|traced@example\.com|traced-totp/);
  });

  it("keeps a server stream's span open until the stream ends, with the stream's work under it", () => {
    const watch = collector.spans.find((span) => span.name === "onetime.v1.AccountTokenService/WatchAuthToken");
    expect(watch).toMatchObject({ traceId: streamTraceId, parentSpanId: callerSpanId, kind: 2, attributes: { "rpc.grpc.status_code": 0 } });
    expect(BigInt(watch!.endTimeUnixNano)).toBeGreaterThan(attachStartedAt);
    // Its children: the caller's limit and the token's read when the watch started (the attach's
    // signal says what changed, so waking reads nothing).
    const children = collector.spans.filter((span) => span.parentSpanId === watch!.spanId);
    expect(children.map((span) => span.attributes["db.system.name"]).sort()).toEqual(["postgresql", "redis"]);
  });

  it("ends the span of a stream whose caller left as cancelled, not as a success", () => {
    const watch = collector.spans.find((span) => span.traceId === leftTraceId && span.name === "onetime.v1.AccountTokenService/WatchAuthToken");
    expect(watch).toMatchObject({ kind: 2, attributes: { "rpc.grpc.status_code": 1 } });
  });
});

describe("OTEL_TRACES_SAMPLER=always_off", () => {
  it("records nothing, not even for a caller whose traceparent says sampled: no span reaches the collector", async () => {
    const collector = await startCollector();
    try {
      const server = await startTestServer("real", "traces_off", { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_TRACES_SAMPLER: "always_off" });
      try {
        const sampled = `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;
        const client = await verificationClient(server.url, "connect-json", ["service"], { traceparent: sampled });
        await client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: "unsampled@example.com", policy: { forcedCode: "271828" } });
      } finally {
        // Stopping flushes the batch: anything recorded would be exported by now.
        await server.stop();
      }
      expect(collector.paths).toEqual([]);
      expect(collector.spans).toEqual([]);
    } finally {
      await new Promise((resolve) => collector.server.close(resolve));
    }
  });
});

describe("a span batch queue too small for the load", () => {
  it("logs the spans it dropped instead of losing them silently", async () => {
    const collector = await startCollector();
    const captured = capturingLogger("warn");
    try {
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_MAX_QUEUE_SIZE: "1", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "1" };
      const server = await startTestServer("real", "traces_dropped", env, {}, captured.logger);
      try {
        const client = await verificationClient(server.url);
        for (let call = 0; call < 5; call++) {
          await client.initiateVerification({ method: VerificationMethod.EMAIL, consumer: `dropped${call}@example.com` });
        }
      } finally {
        await server.stop();
      }
      const lines = captured.records.filter((record) => String(record.msg).startsWith("opentelemetry: "));
      expect(lines[0]?.msg).toMatch(/^opentelemetry: Dropped \d+ spans because maxQueueSize reached/);
      // A line every few seconds at most, however often the SDK repeats itself: a collector outage
      // under load would otherwise bury the log. What was left out is said at shutdown.
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatchObject({ leftOut: expect.any(Number) });
      expect(lines[1]?.msg).toMatch(/\(the last of \d+ lines left out\)$/);
    } finally {
      await new Promise((resolve) => collector.server.close(resolve));
    }
  });
});
