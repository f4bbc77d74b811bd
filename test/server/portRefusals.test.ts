import { execFile } from "node:child_process";
import { createServer, type Server } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StartRefused } from "../../src/errors/startRefused.js";
import { createLogger } from "../../src/observability/logger.js";
import { listen } from "../../src/server/httpServer.js";
import { inMemoryDataDir } from "../../src/storage/sql/database.js";
import { testJwtSecret } from "../support/tokens.js";

const run = promisify(execFile);

/** Options for listen() on `port` and `host`; the handler never runs, since the start is refused. */
function on(host: string, port: number) {
  return { host, port, idleTimeoutMs: 1_000, maxConcurrentStreams: 10, logger: createLogger("silent") };
}

describe("a port the server cannot have", () => {
  let holder: Server;
  let held: number;
  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    held = (holder.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => holder.close(resolve));
  });

  it("refuses a port in use with a sentence naming PORT and HOST", async () => {
    const refused = listen(() => undefined, on("127.0.0.1", held));
    await expect(refused).rejects.toBeInstanceOf(StartRefused);
    await expect(refused).rejects.toThrow(`PORT ${held} on HOST 127.0.0.1 is already in use`);
  });

  it("refuses a HOST that is not an address of this machine, naming HOST", async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to a real host.
    const refused = listen(() => undefined, on("192.0.2.1", 0));
    await expect(refused).rejects.toBeInstanceOf(StartRefused);
    await expect(refused).rejects.toThrow("HOST 192.0.2.1 is not an address of this machine");
  });

  it("refuses a privileged port without the privilege, naming PORT", async () => {
    // Run without the capability to bind low ports: as root (CI), setpriv drops it from the
    // bounding set, so root is refused as any other user would be.
    const script = `
      import { listen } from "./src/server/httpServer.ts";
      import { createLogger } from "./src/observability/logger.ts";
      listen(() => undefined, { host: "127.0.0.1", port: 81, idleTimeoutMs: 1000, maxConcurrentStreams: 10, logger: createLogger("silent") })
        .then(() => { console.log("bound"); process.exit(0); }, (error) => { console.log(error.name + ": " + error.message); process.exit(0); });`;
    const node = [process.execPath, "--import", "tsx", "--input-type=module", "-e", script];
    const [command, ...args] = process.getuid?.() === 0 ? ["setpriv", "--bounding-set=-net_bind_service", ...node] : node;
    const { stdout } = await run(command!, args, { timeout: 60_000 });
    expect(stdout).toContain("StartRefused: PORT 81 on HOST 127.0.0.1 needs privileges this process lacks");
  }, 90_000);

  it("npm start on a port in use prints the sentence and exits with status 2, no stack trace", async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: String(held),
      METRICS_PORT: "0",
      DATA_DIR: inMemoryDataDir,
      AUTH_JWT_SECRET: testJwtSecret,
      LOG_LEVEL: "info",
    };
    for (const name of ["DATABASE_URL", "REDIS_URL", "HMAC_KEY", "ENCRYPTION_KEYS", "WORKERS"]) delete env[name];
    const { code, stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/main.ts"], { env, timeout: 60_000 }).then(
      (ended) => ({ code: 0, ...ended }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(code).toBe(2);
    expect(stderr).toContain(`onetime: refused to start: PORT ${held} on HOST 127.0.0.1 is already in use`);
    expect(stderr).toContain("set PORT to a free port");
    expect(`${stdout}\n${stderr}`).not.toMatch(/^\s+at /m);
    expect(stdout).not.toContain('"stack"');
  }, 90_000);
});
