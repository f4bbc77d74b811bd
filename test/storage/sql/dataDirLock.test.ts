import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/config.js";
import { StartRefused } from "../../../src/errors/startRefused.js";
import { createLogger } from "../../../src/observability/logger.js";
import { lockDataDir } from "../../../src/storage/sql/dataDirLock.js";
import { openStores } from "../../../src/storage/stores.js";
import { testStoreKeys } from "../../support/postgres.js";
import { testEncryptionKeys, testJwtSecret } from "../../support/tokens.js";

describe("one data directory, one process", () => {
  let parent: string;
  let dataDir: string;
  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), "onetime-lock-"));
    dataDir = join(parent, "pgdata");
  });
  afterEach(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it("refuses a second holder, naming the directory and the process that holds it", async () => {
    const first = await lockDataDir(dataDir);
    const refused = await lockDataDir(dataDir).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StartRefused);
    expect((refused as Error).message).toContain(`DATA_DIR ${dataDir} is in use by process ${process.pid}`);
    await first.release();
    const again = await lockDataDir(dataDir);
    await again.release();
  });

  it("takes over a lock left by a process that no longer runs", async () => {
    // A real pid that has just exited: what a crash or a kill -9 leaves behind.
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!;
    await writeFile(`${dataDir}.lock`, JSON.stringify({ pid: gone, host: hostname(), since: "2026-01-01T00:00:00.000Z" }));
    const lock = await lockDataDir(dataDir);
    expect(JSON.parse(await readFile(`${dataDir}.lock`, "utf8"))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it("takes over a lock file cut short mid-write", async () => {
    await writeFile(`${dataDir}.lock`, '{"pid":');
    const lock = await lockDataDir(dataDir);
    await lock.release();
  });

  it("refuses a second start on the same DATA_DIR, and frees it when the first stops", async () => {
    const config = loadConfig({ DATA_DIR: dataDir, AUTH_JWT_SECRET: testJwtSecret, ENCRYPTION_KEYS: testEncryptionKeys });
    const first = await openStores(config, createLogger("silent"), testStoreKeys);
    try {
      await expect(openStores(config, createLogger("silent"), testStoreKeys)).rejects.toBeInstanceOf(StartRefused);
    } finally {
      await first.close();
    }
    const second = await openStores(config, createLogger("silent"), testStoreKeys);
    await second.close();
  }, 60_000);
});
