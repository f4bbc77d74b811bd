import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { accessTable, everyone } from "../../src/auth/access.js";
import { authInterceptor } from "../../src/auth/authInterceptor.js";
import { createTokenVerifier, secretKey } from "../../src/auth/tokenVerifier.js";
import { errorBoundary } from "../../src/rpc/interceptors/errorBoundary.js";
import { requestLog } from "../../src/rpc/interceptors/requestLog.js";
import { capturingLogger } from "../support/capturingLogger.js";
import { signToken, testClaims, testJwtSecret } from "../support/tokens.js";

function loggedHealth() {
  const { logger, records: lines } = capturingLogger();
  const verifier = createTokenVerifier(secretKey(testJwtSecret), { ...testClaims, rolesClaim: "roles", serviceRole: "service", adminRole: "admin" });
  const table = accessTable({ [`${Health.typeName}/Check`]: everyone, [`${Health.typeName}/List`]: everyone });
  const transport = createRouterTransport(
    (router) =>
      router.service(Health, {
        check: (request) => {
          if (request.service === "boom") throw new Error("database password=hunter2 rejected");
          return {};
        },
      }),
    { router: { interceptors: [requestLog(logger), errorBoundary, authInterceptor(verifier, table)] } },
  );
  return { lines, client: createClient(Health, transport) };
}

describe("request log", () => {
  it("writes one line per call with its request id, and echoes the id", async () => {
    const { lines, client } = loggedHealth();
    const token = await signToken({ subject: "svc", roles: ["service"] });
    let echoed: string | null = null;
    await client.check({}, { headers: { authorization: `Bearer ${token}` }, onHeader: (headers) => (echoed = headers.get("x-request-id")) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: "rpc", procedure: "grpc.health.v1.Health/Check", principal: "service", outcome: "ok" });
    expect(lines[0]?.requestId).toBe(echoed);
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it("adopts a well-formed caller request id and replaces a malformed one", async () => {
    const { lines, client } = loggedHealth();
    await client.check({}, { headers: { "x-request-id": "trace-1234abcd" } });
    await client.check({}, { headers: { "x-request-id": "bad id with spaces and {\"json\": true}" } });
    expect(lines[0]?.requestId).toBe("trace-1234abcd");
    expect(lines[1]?.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("logs refusals at warn and failures at error with their cause, never the token", async () => {
    const { lines, client } = loggedHealth();
    const forged = await signToken({ secret: "x".repeat(40) });
    await client.check({}, { headers: { authorization: `Bearer ${forged}` } }).catch(() => undefined);
    await client.check({ service: "boom" }).catch(() => undefined);
    expect(lines[0]).toMatchObject({ level: "warn", outcome: "Unauthenticated" });
    expect(lines[1]).toMatchObject({ level: "error", outcome: "Internal" });
    expect(JSON.stringify(lines[1])).toContain("hunter2"); // the cause stays in the server log
    expect(JSON.stringify(lines)).not.toContain(forged);
  });
});
