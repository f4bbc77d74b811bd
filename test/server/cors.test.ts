import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

const allowed = "https://app.example.com";

function preflight(url: string, origin: string, contentType = "application/json") {
  return fetch(`${url}/grpc.health.v1.Health/Check`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": `content-type,connect-protocol-version,authorization`,
      "content-type": contentType,
    },
  });
}

describe("CORS for browser callers", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("embedded", "cors", { CORS_ORIGINS: `${allowed},https://admin.example.com` });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers a preflight from an allowed origin with Connect's headers", async () => {
    const response = await preflight(server.url, allowed);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(allowed);
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    const allowedHeaders = response.headers.get("access-control-allow-headers")?.toLowerCase() ?? "";
    for (const header of ["content-type", "connect-protocol-version", "x-grpc-web", "authorization"]) {
      expect(allowedHeaders).toContain(header);
    }
    expect(response.headers.get("access-control-max-age")).toBe("7200");
  });

  it("gives a refused origin no CORS headers, so the browser blocks it", async () => {
    const response = await preflight(server.url, "https://evil.example.net");
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("exposes the gRPC-Web status headers and request id on an actual call", async () => {
    const response = await fetch(`${server.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { origin: allowed, "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(allowed);
    const exposed = response.headers.get("access-control-expose-headers")?.toLowerCase() ?? "";
    for (const header of ["grpc-status", "grpc-message", "x-request-id"]) expect(exposed).toContain(header);
  });
});
