import type { AppOptions } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config/config.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { inMemoryDataDir } from "../../src/storage/sql/database.js";
import { dropSchema, testDatabaseUrl, uniqueSchema } from "./postgres.js";
import { connectTestCluster, connectTestRedis, deleteKeysWithPrefix, testClusterUrls, testRedisUrl, uniqueTestPrefix } from "./redis.js";
import { testClaims, testEncryptionKeys, testJwtSecret } from "./tokens.js";

/** "cluster": Postgres as "real", and the run's Redis Cluster (REDIS_CLUSTER=true) for Redis. */
export type Backend = "real" | "embedded" | "cluster";

/** Both kinds of backend every end-to-end suite runs on; the suites that prove Cluster add it. */
export const backends: readonly Backend[] = ["real", "embedded"];

export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  /** Where the metrics port serves them (METRICS_PORT=0: a free port of 127.0.0.1); never on `url`. */
  readonly metricsUrl: string;
  readonly config: Config;
  stop(): Promise<void>;
}

/**
 * On real stores the console channel and the development CAPTCHA are there only when asked for by
 * name; the suites read codes from the console and answer dev-captcha-ok, so they ask, for every
 * kind the test gives no provider or place in DISABLED_CHANNELS (naming both would be refused).
 */
function developmentConveniences(backend: Backend, env: Record<string, string>): Record<string, string> {
  if (backend === "embedded") return {};
  const disabled = (env.DISABLED_CHANNELS ?? "").split(",").map((kind) => kind.trim());
  const provided = { email: env.SMTP_URL, sms: env.SMS_PROVIDER, push: env.APNS_KEY_FILE ?? env.FCM_SERVICE_ACCOUNT_FILE };
  const printed = Object.entries(provided).filter(([kind, provider]) => provider === undefined && !disabled.includes(kind)).map(([kind]) => kind);
  return { CONSOLE_CHANNELS: printed.join(","), CAPTCHA_PROVIDER: "development" };
}

/**
 * Starts the real server on 127.0.0.1:0. "real": Postgres (own schema) and Redis (own prefix);
 * "embedded": in-memory PGlite and the in-process store.
 */
export async function startTestServer(
  backend: Backend,
  label: string,
  env: Record<string, string> = {},
  options: AppOptions = {},
  /** Where the server logs; default silent (or TEST_LOG_LEVEL to stdout). */
  logger?: Logger,
): Promise<TestServer> {
  const schema = uniqueSchema(label);
  const redis: Record<string, string> =
    backend === "cluster" ? { REDIS_URL: testClusterUrls().join(","), REDIS_CLUSTER: "true" } : { REDIS_URL: testRedisUrl() };
  const storage: Record<string, string> =
    backend === "embedded"
      ? { DATA_DIR: inMemoryDataDir }
      : { DATABASE_URL: testDatabaseUrl(), DATABASE_SCHEMA: schema, ...redis, REDIS_KEY_PREFIX: uniqueTestPrefix(label) };
  const config = loadConfig({
    ...developmentConveniences(backend, env),
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: "0",
    // METRICS_HOST stays at its default: the tests check the default binds to loopback.
    METRICS_PORT: "0",
    // Test numbers share a prefix (+1415555…) and are seldom validated, which the conversion
    // guard and the prefix rate would take for pumping: the suites that test them set them.
    SMS_CONVERSION_MIN_RATIO: "0",
    SMS_PREFIX_HOURLY_LIMIT: "0",
    AUTH_JWT_SECRET: testJwtSecret,
    ENCRYPTION_KEYS: testEncryptionKeys,
    AUTH_ISSUER: testClaims.issuer,
    AUTH_AUDIENCE: testClaims.audience,
    ...storage,
    ...env,
  });
  // Development emails and SMS stay out of the test output unless logs are asked for.
  const quiet = process.env.TEST_LOG_LEVEL === undefined ? { consoleOutput: () => undefined } : {};
  /** A passing run leaves nothing behind: not the schema, nor the Redis keys under its prefix. A schema or prefix the caller chose (servers sharing stores) is the caller's to remove. */
  async function removeStores(): Promise<void> {
    if (backend !== "embedded" && env.DATABASE_SCHEMA === undefined) await dropSchema(schema);
    if (backend !== "embedded" && env.REDIS_KEY_PREFIX === undefined) {
      const admin = backend === "cluster" ? await connectTestCluster() : await connectTestRedis();
      try {
        await deleteKeysWithPrefix(admin, storage.REDIS_KEY_PREFIX!);
      } finally {
        admin.disconnect();
      }
    }
  }
  let server: RunningServer;
  try {
    server = await startServer(config, logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? "silent"), { ...quiet, ...options });
  } catch (error) {
    // A refused start (the tests that expect one) may have made its schema before refusing.
    await removeStores();
    throw error;
  }
  return {
    server,
    url: server.http.url,
    // A plain value (token servers spread this object); with METRICS_PORT=off, one that fetch refuses, saying why.
    metricsUrl: server.metrics?.url ?? "no metrics port: this test server has METRICS_PORT=off",
    config,
    async stop() {
      await server.shutdown();
      await removeStores();
    },
  };
}
