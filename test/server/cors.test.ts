import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturingLogger } from "../support/capturingLogger.js";
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

/** The backquoted header names docs/operations.md lists on the line that starts with `lead`. */
async function documentedHeaders(lead: string): Promise<string[]> {
  const text = (await readFile(new URL("../../docs/operations.md", import.meta.url), "utf8")).replace(/\n\s+/g, " ");
  const line = text.split("\n").find((candidate) => candidate.startsWith(lead));
  expect(line, `docs/operations.md has a line starting "${lead}"`).toBeDefined();
  const list = line!.slice(line!.indexOf(":") + 1).split(". ")[0]!;
  return [...list.matchAll(/`([^`]+)`/g)].map((match) => match[1]!.toLowerCase()).sort();
}

/** A comma-separated header value as a sorted list of lower-case names. */
function names(value: string | null): string[] {
  return (value ?? "").split(",").map((name) => name.trim().toLowerCase()).filter((name) => name !== "").sort();
}

describe("CORS for browser callers", () => {
  let server: TestServer;
  let records: Record<string, unknown>[];
  beforeAll(async () => {
    const captured = capturingLogger("warn");
    records = captured.records;
    server = await startTestServer("embedded", "cors", { CORS_ORIGINS: `${allowed},https://admin.example.com` }, {}, captured.logger);
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

  it("sends exactly the allowed and exposed headers docs/operations.md lists", async () => {
    const preflightAnswer = await preflight(server.url, allowed);
    expect(names(preflightAnswer.headers.get("access-control-allow-headers"))).toEqual(await documentedHeaders("- Request headers a browser may send"));
    const call = await fetch(`${server.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { origin: allowed, "content-type": "application/json" },
      body: "{}",
    });
    expect(names(call.headers.get("access-control-expose-headers"))).toEqual(await documentedHeaders("- Response headers a browser may read"));
  });

  it("logs a refused origin once, naming it and CORS_ORIGINS, however often it calls", async () => {
    const refused = "https://typo.example.com";
    const warned = () => records.filter((record) => record.origin === refused);
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await preflight(server.url, refused);
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
    }
    await fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { origin: refused, "content-type": "application/json" }, body: "{}" });
    expect(warned()).toHaveLength(1);
    expect(warned()[0]).toMatchObject({ level: "warn", setting: "CORS_ORIGINS", preflight: true, allowedOrigins: [allowed, "https://admin.example.com"] });
    expect(warned()[0]!.msg).toContain("not in CORS_ORIGINS");

    await preflight(server.url, "https://other.example.com");
    expect(records.filter((record) => record.origin === "https://other.example.com")).toHaveLength(1);
  });

  it("logs nothing for an allowed origin or a caller that sends none", async () => {
    const before = records.length;
    await preflight(server.url, allowed);
    await fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(records.slice(before).filter((record) => record.setting === "CORS_ORIGINS")).toEqual([]);
  });
});
