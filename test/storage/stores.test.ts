import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { inMemoryDataDir } from "../../src/storage/sql/database.js";
import { openStores } from "../../src/storage/stores.js";
import { testMigrationContext } from "../support/postgres.js";
import { testEncryptionKeys, testJwtSecret } from "../support/tokens.js";

describe("opening the stores", () => {
  it("fails the start, naming Redis, when Redis is unreachable", async () => {
    const config = loadConfig({ DATA_DIR: inMemoryDataDir, REDIS_URL: "redis://:hunter2@127.0.0.1:1", AUTH_JWT_SECRET: testJwtSecret, ENCRYPTION_KEYS: testEncryptionKeys });
    const failure = await openStores(config, createLogger("silent"), testMigrationContext).catch((error: unknown) => error as Error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe("Redis at redis://:***@127.0.0.1:1 is not reachable");
  }, 60_000);
});
