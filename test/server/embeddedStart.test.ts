import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The README's start command on a bare machine: no DATABASE_URL, no REDIS_URL, no auth
 * configured. It must serve on PGlite and the in-process store, print development tokens that
 * work, and stop cleanly on SIGTERM.
 */
describe("npm start on embedded defaults", () => {
  let child: ChildProcess;
  let dataDir: string;
  let url: string;
  let serviceToken: string;
  let adminToken: string;
  const logLines: Record<string, unknown>[] = [];
  let bannerLines: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "onetime-start-"));
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0", HOST: "127.0.0.1", METRICS_PORT: "0", DATA_DIR: join(dataDir, "pgdata"), NODE_ENV: "development" };
    for (const name of ["DATABASE_URL", "REDIS_URL", "AUTH_JWT_SECRET", "AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE", "ENCRYPTION_KEYS"]) delete env[name];
    // Its own process group, so cleanup can reach the service behind npm even if a test fails.
    child = spawn("npm", ["start", "--silent"], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });

    const banner: string[] = [];
    createInterface({ input: child.stderr! }).on("line", (line) => banner.push(line));
    url = await new Promise<string>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`npm start exited early with ${code}: ${banner.join("\n")}`)));
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logLines.push(entry);
        if (typeof entry.url === "string") resolve(entry.url);
      });
    });
    // The banner goes to stderr just after the "serving" log line on stdout.
    for (let waited = 0; !banner.some((line) => line.includes("export ADMIN_TOKEN=")); waited += 50) {
      if (waited > 5_000) throw new Error(`no development tokens printed: ${banner.join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const tokenAfter = (label: string) => banner.find((line) => line.includes(label))!.split(label)[1]!.trim();
    serviceToken = tokenAfter("export SERVICE_TOKEN=");
    adminToken = tokenAfter("export ADMIN_TOKEN=");
    bannerLines = banner;
  }, 60_000);

  afterAll(async () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // Already gone: the SIGTERM test stopped it.
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  const check = (authorization?: string) =>
    fetch(`${url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization === undefined ? {} : { authorization }) },
      body: "{}",
    });

  it("serves on PGlite and the in-process store with development auth", async () => {
    const started = logLines.find((entry) => typeof entry.url === "string");
    expect(started).toMatchObject({ database: "pglite", shortLivedStore: "memory", auth: "development" });
    // A fresh DATA_DIR: the slow first step is announced before it starts.
    expect(logLines.findIndex((entry) => String(entry.msg).startsWith("creating the embedded database"))).toBeGreaterThan(-1);
    const response = await check();
    expect(await response.json()).toEqual({ status: "SERVING" });
  });

  it("serves compiled JavaScript, not TypeScript compiled on every start", () => {
    // Every process npm start left in its group: npm's shell execs node on the bundle.
    const group = spawnSync("pgrep", ["-a", "-g", String(child.pid)], { encoding: "utf8" }).stdout;
    expect(group).toMatch(/node dist\/main\.js/);
    expect(group).not.toMatch(/tsx|src\/main\.ts/);
  });

  it("prints service and admin tokens that the server accepts", async () => {
    for (const token of [serviceToken, adminToken]) expect((await check(`Bearer ${token}`)).status).toBe(200);
    const forged = await check(`Bearer ${serviceToken.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
  });

  it("prints lines a user can paste: the exports, then commands that work as printed", () => {
    const exports = bannerLines.filter((line) => line.trim().startsWith("export "));
    const commands = bannerLines.filter((line) => line.trim().startsWith("npx buf curl"));
    expect(exports).toHaveLength(2);
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const command of commands) {
      const run = spawnSync("bash", ["-c", [...exports, command].join("\n")], { encoding: "utf8", timeout: 30_000 });
      expect({ command, status: run.status, stderr: run.stderr }).toMatchObject({ status: 0 });
      expect(run.stdout).not.toBe("");
    }
  }, 60_000);

  it("prints a line that mints a user token the server accepts", async () => {
    const line = bannerLines.find((candidate) => candidate.includes("npx onetime token --role user"));
    expect(line, bannerLines.join("\n")).toBeDefined();
    // From a shell with the server's settings but no DATA_DIR of its own: the line must name the server's.
    const env = { ...process.env };
    for (const name of ["DATA_DIR", "DATABASE_URL", "REDIS_URL", "AUTH_JWT_SECRET", "AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE"]) delete env[name];
    const run = spawnSync("bash", ["-c", `${line!.trim()}\necho "$USER_TOKEN"`], { encoding: "utf8", env, timeout: 30_000 });
    expect({ status: run.status, stderr: run.stderr }).toMatchObject({ status: 0 });
    const accepted = await check(`Bearer ${run.stdout.trim()}`);
    expect({ status: accepted.status, body: await accepted.text(), stderr: run.stderr }).toEqual({ status: 200, body: '{"status":"SERVING"}', stderr: expect.any(String) });
  }, 30_000);

  it("never logs a token", () => {
    const logged = JSON.stringify(logLines);
    expect(logged).not.toContain(serviceToken);
    expect(logged).not.toContain(adminToken);
  });

  it("stops cleanly on SIGTERM", async () => {
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once("close", (code, signal) => resolve({ code, signal })),
    );
    child.kill("SIGTERM");
    // npm relays the signal to the service and then reports it as its own way of ending.
    expect([{ code: 0, signal: null }, { code: null, signal: "SIGTERM" }]).toContainEqual(await exited);
    // Logged only after health went NOT_SERVING, connections drained and the stores closed.
    expect(logLines.map((entry) => entry.msg)).toEqual(expect.arrayContaining(["shutting down", "stopped"]));
  });
});
