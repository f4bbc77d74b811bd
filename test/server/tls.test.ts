import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
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
