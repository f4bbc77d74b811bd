import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);

describe("TLS from certificate files", () => {
  let dir: string;
  let ca: Buffer;
  let server: TestServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "onetime-tls-"));
    const [certFile, keyFile] = [join(dir, "cert.pem"), join(dir, "key.pem")];
    await run("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]);
    ca = await readFile(certFile);
    server = await startTestServer("embedded", "tls", { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves gRPC over h2 with TLS", async () => {
    expect(server.url).toMatch(/^https:/);
    const transport = createGrpcTransport({ baseUrl: server.url, nodeOptions: { ca } });
    expect((await createClient(Health, transport).check({})).status).toBe(Status.SERVING);
  });

  it("serves Connect JSON over HTTP/1.1 with TLS", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const request = httpsRequest(
        `${server.url}/grpc.health.v1.Health/Check`,
        { method: "POST", ca, headers: { "content-type": "application/json" } },
        (response) => {
          let text = "";
          response.on("data", (chunk: Buffer) => (text += chunk.toString()));
          response.on("end", () => resolve(text));
        },
      );
      request.on("error", reject);
      request.end("{}");
    });
    expect(JSON.parse(body)).toEqual({ status: "SERVING" });
  });

  it("refuses plain text on the TLS port", async () => {
    const plain = server.url.replace("https:", "http:");
    await expect(fetch(`${plain}/grpc.health.v1.Health/Check`, { method: "POST", body: "{}" })).rejects.toThrow();
  });
});

describe("TLS on the plain-text port", () => {
  let server: TestServer;
  let records: Record<string, unknown>[];
  beforeAll(async () => {
    const captured = capturingLogger("warn");
    records = captured.records;
    server = await startTestServer("embedded", "tls_on_plain", {}, {}, captured.logger);
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** An https:// caller's handshake; resolves with how it ended (it never succeeds here). */
  function handshake(): Promise<string> {
    const { hostname, port } = new URL(server.url);
    return new Promise((resolve) => {
      const socket = tlsConnect({ host: hostname, port: Number(port), servername: "localhost", ALPNProtocols: ["h2", "http/1.1"] });
      socket.once("secureConnect", () => {
        socket.destroy();
        resolve("handshake completed");
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      socket.once("close", () => resolve("closed"));
    });
  }

  it("closes the handshake and logs it once with the hint, however many come", async () => {
    for (let attempt = 0; attempt < 3; attempt++) expect(await handshake()).not.toBe("handshake completed");
    const warned = records.filter((record) => typeof record.msg === "string" && record.msg.startsWith("TLS handshake on the plain-text port"));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: "warn", port: server.server.http.port, client: "127.0.0.1", settings: ["TLS_CERT_FILE", "TLS_KEY_FILE"] });
    expect(warned[0]!.msg).toContain("this port serves plain HTTP");
    expect(warned[0]!.msg).toContain("terminate TLS in front of it");
  });

  it("still serves plain text afterwards", async () => {
    const response = await fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(await response.json()).toEqual({ status: "SERVING" });
  });
});
