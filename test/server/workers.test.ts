import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { testDatabaseUrl, dropSchema, uniqueSchema } from "../support/postgres.js";
import { testRedisUrl, uniqueTestPrefix } from "../support/redis.js";
import { testEncryptionKeys, testJwtSecret } from "../support/tokens.js";

describe("several workers on one port", () => {
  it("serves from every worker and drains them all on SIGTERM", async () => {
    const schema = uniqueSchema("workers");
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: {
        ...process.env,
        WORKERS: "2",
        PORT: "0",
        HOST: "127.0.0.1",
        DATABASE_URL: testDatabaseUrl(),
        DATABASE_SCHEMA: schema,
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: uniqueTestPrefix("workers"),
        AUTH_JWT_SECRET: testJwtSecret,
        ENCRYPTION_KEYS: testEncryptionKeys,
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines: Array<Record<string, unknown>> = [];
    const serving = new Promise<string[]>((resolve) => {
      const urls: string[] = [];
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (typeof entry.url === "string") urls.push(entry.url);
        if (urls.length === 2) resolve(urls);
      });
    });
    try {
      const urls = await serving;
      // Workers listen on port 0 through the primary, which hands them one shared port.
      expect(new Set(urls).size).toBe(1);
      const pids = new Set(lines.filter((entry) => typeof entry.url === "string").map((entry) => entry.pid));
      expect(pids.size).toBe(2);
      for (let i = 0; i < 10; i++) {
        const response = await fetch(`${urls[0]}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        expect(response.status).toBe(200);
      }
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(lines.filter((entry) => entry.msg === "stopped")).toHaveLength(2);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await dropSchema(schema);
    }
  }, 60_000);
});
