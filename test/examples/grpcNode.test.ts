import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { signToken } from "../support/tokens.js";

const run = promisify(execFile);
const example = fileURLToPath(new URL("../../examples/grpc-node/verify.mjs", import.meta.url));

// examples/grpc-node as its README runs it: plain node, against a server with TEST_MODE=true.
describe("examples/grpc-node", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer("real", "grpcnode", { TEST_MODE: "true" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("verifies an address, printing the reason and attempts left of the wrong code first", async () => {
    const env = {
      ...process.env,
      ONETIME_URL: new URL(server.url).host,
      SERVICE_TOKEN: await signToken({ subject: "grpc-node-example", roles: ["service"] }),
      ADMIN_TOKEN: await signToken({ subject: "grpc-node-example-admin", roles: ["admin"] }),
    };
    const { stdout } = await run(process.execPath, [example], { env, timeout: 15_000 });
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^initiated [0-9a-f-]{36} for grpc-node-[0-9a-f]{8}@test\.example$/);
    expect(lines[1]).toMatch(/^the email carries code \d{6}$/);
    expect(lines[2]).toBe("wrong code refused: INVALID_ARGUMENT reason=WRONG_CODE attempts_left=4");
    expect(lines[3]).toMatch(/^verified grpc-node-[0-9a-f]{8}@test\.example, payload flow=signup$/);
  });

  it("says which token is missing instead of calling without one", async () => {
    const env = { ...process.env, ONETIME_URL: new URL(server.url).host, SERVICE_TOKEN: "", ADMIN_TOKEN: "" };
    const failure = await run(process.execPath, [example], { env, timeout: 15_000 }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2, stderr: expect.stringContaining("SERVICE_TOKEN is not set") });
  });
});
