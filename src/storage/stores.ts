import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import { inMemoryDataDir, openDatabase, type Database } from "./sql/database.js";
import { lockDataDir } from "./sql/dataDirLock.js";
import type { MigrationContext } from "./sql/migrations/index.js";
import type { TotpSecretStore } from "../domain/totp/totpSecretStore.js";
import { sqlTotpSecrets } from "./sql/sqlTotpSecrets.js";
import type { MessageQueue } from "../delivery/messageQueue.js";
import type { PendingSecrets } from "../domain/secrets/pendingSecrets.js";
import type { SendLimits } from "../domain/secrets/sendLimits.js";
import { MemoryPendingSecrets } from "./memory/memoryPendingSecrets.js";
import { MemorySendLimits } from "./memory/memorySendLimits.js";
import { untraced, type Spans } from "../observability/spans.js";
import { observeStoreCalls, type StoreCalls } from "../observability/storeCalls.js";
import type { StoreMetrics } from "../observability/storeMetrics.js";
import { observeQueries } from "./sql/observeQueries.js";
import { postgresNode, watchPostgresConnections } from "./sql/postgresConnectionStates.js";
import { logConnectionStates } from "../observability/connectionStates.js";
import { connectRedis, pendingCommands, type RedisConnection } from "./redis/redisClient.js";
import { RedisPendingSecrets } from "./redis/redisPendingSecrets.js";
import { RedisSecretQueue } from "./redis/redisSecretQueue.js";
import { RedisSendLimits } from "./redis/redisSendLimits.js";
import { RedisTestInbox } from "./redis/redisTestInbox.js";
import { MemoryTestInbox } from "./memory/memoryTestInbox.js";
import type { TestInbox } from "../delivery/testInbox.js";
import { guardShardCount } from "./redis/shardCountGuard.js";
import type { AccountTokenStore } from "../domain/accountTokens/accountTokenStore.js";
import type { AuthTokenSignals } from "../domain/accountTokens/authTokenSignals.js";
import { MemoryAuthTokenSignals } from "./memory/memoryAuthTokenSignals.js";
import { RedisAuthTokenSignals } from "./redis/redisAuthTokenSignals.js";
import { sqlAccountTokens } from "./sql/sqlAccountTokens.js";
import { keyedHash, type KeyedHash } from "../crypto/keyedHash.js";
import type { SecretBox } from "../crypto/secretBox.js";
import type { OutboxStore } from "../delivery/outboxStore.js";
import type { SecurityProfileStore } from "../domain/profileTokens/securityProfile.js";
import type { UserRecords } from "../domain/erasure/userRecords.js";
import type { RetentionStore } from "../retention/retentionStore.js";
import { sqlOutbox } from "./sql/sqlOutbox.js";
import { sqlRetention } from "./sql/sqlRetention.js";
import { sqlSecurityProfiles } from "./sql/sqlSecurityProfiles.js";
import { sqlUserRecords } from "./sql/sqlUserRecords.js";

/** Everything that keeps state, opened together and closed together. */
export interface Stores {
  readonly db: Database;
  /** Codes and tokens waiting to be redeemed, each with the message that delivers it. */
  readonly secrets: PendingSecrets;
  /** The messages queued by `secrets.put`, for this instance's relay (one relay per queue object). */
  readonly secretMessages: MessageQueue;
  readonly limits: SendLimits;
  readonly totpSecrets: TotpSecretStore;
  readonly accountTokens: AccountTokenStore;
  /** Wakes auth token watchers on every instance (Redis pub/sub, or in process). */
  readonly authTokenSignals: AuthTokenSignals;
  /** Messages of Postgres records, queued in the transaction of their record. */
  readonly outbox: OutboxStore;
  readonly securityProfiles: SecurityProfileStore;
  /** Every row that names a user, for erasure. */
  readonly userRecords: UserRecords;
  /** What has aged out, for the purge. */
  readonly retention: RetentionStore;
  /** Test mode's inbox (docs/test-mode.md); opened only with TEST_MODE=true. */
  readonly testInbox?: TestInbox;
  close(): Promise<void>;
}

export interface OpenStoresOptions {
  /**
   * Told the shard of each message `secrets.put` queued, once it is stored: wire it to the secret
   * relay's nudge. Default: the relay finds messages at its next poll.
   */
  readonly onSecretQueued?: (shard: number) => void;
  /** Where Redis commands and Postgres statements record their spans; off by default. */
  readonly spans?: Spans;
  /** Where they are counted and timed, with the pool and the commands awaiting a reply; none by default. */
  readonly metrics?: StoreMetrics;
}

/** The keys durable rows are named and sealed with: the migrations and the stores use the same. */
export interface StoreKeys extends MigrationContext {
  readonly profileKeyHash: KeyedHash;
  /** Names addresses in audit events the purge keeps. */
  readonly auditAddressHash: KeyedHash;
  /** Seals security profile fields. */
  readonly box: SecretBox;
}

/** The server's store keys, each label written once: a label changed is every stored name lost. */
export function storeKeys(serverKey: Uint8Array, box: SecretBox): StoreKeys {
  return {
    totpConsumerHash: keyedHash(serverKey, "totp-consumer"),
    profileKeyHash: keyedHash(serverKey, "profile-key"),
    auditAddressHash: keyedHash(serverKey, "audit-address", 16),
    box,
  };
}

interface ShortLivedStores {
  readonly secrets: PendingSecrets;
  readonly secretMessages: MessageQueue;
  readonly limits: SendLimits;
  readonly authTokenSignals: AuthTokenSignals;
  readonly testInbox?: TestInbox;
}

/**
 * Opens Postgres (or PGlite) and Redis (or the in-process store). A store that cannot be reached
 * at start is a failed start: serving without it could only answer `unavailable`. Every store the
 * server uses is opened here and nowhere else.
 */
export async function openStores(config: Config, logger: Logger, keys: StoreKeys, options: OpenStoresOptions = {}): Promise<Stores> {
  const { database } = config;
  const calls = observeStoreCalls(options.spans ?? untraced, options.metrics);
  const dataDirLock = database.kind === "pglite" && database.dataDir !== inMemoryDataDir ? await lockDataDir(database.dataDir) : undefined;
  let db: Database;
  try {
    // Creating PGlite's cluster takes several seconds; without a word the first start looks hung.
    if (database.kind === "pglite" && dataDirLock !== undefined && !existsSync(join(database.dataDir, "PG_VERSION"))) {
      logger.info({ dataDir: database.dataDir }, "creating the embedded database (first start in this DATA_DIR; takes a few seconds)");
    }
    db = await openDatabase(database, keys, logger);
    observeQueries(db, calls);
    if (database.kind === "postgres") watchPostgresConnections(db, postgresNode(database.url), logConnectionStates(logger, "postgres"));
    options.metrics?.watchPostgresPool(db);
  } catch (error) {
    await dataDirLock?.release();
    throw error;
  }
  let short: ShortLivedStores;
  try {
    const testMode = config.testMode !== undefined;
    short =
      config.shortLivedStore.kind === "redis"
        ? await openRedisStores(config.shortLivedStore, logger, options, calls, testMode)
        : openMemoryStores(options, testMode);
  } catch (error) {
    await db.destroy();
    await dataDirLock?.release();
    throw error;
  }
  const { secrets, secretMessages, limits, authTokenSignals, testInbox } = short;
  const outbox = sqlOutbox(db);
  return {
    db,
    secrets,
    secretMessages,
    limits,
    totpSecrets: sqlTotpSecrets(db, keys.totpConsumerHash),
    accountTokens: sqlAccountTokens(db),
    authTokenSignals,
    outbox,
    securityProfiles: sqlSecurityProfiles(db, keys.box, keys.profileKeyHash, outbox),
    userRecords: sqlUserRecords(db, keys.totpConsumerHash),
    retention: sqlRetention(db, { schema: database.schema, addressHash: keys.auditAddressHash }),
    ...(testInbox === undefined ? {} : { testInbox }),
    async close() {
      await authTokenSignals.close();
      await limits.close();
      await Promise.allSettled([secrets.close(), db.destroy()]);
      // Only once PGlite has written the database back is the directory free for another process.
      await dataDirLock?.release();
    },
  };
}

function openMemoryStores(options: OpenStoresOptions, testMode: boolean): ShortLivedStores {
  const secrets = new MemoryPendingSecrets(options.onSecretQueued === undefined ? {} : { onQueued: options.onSecretQueued });
  return {
    secrets,
    secretMessages: secrets.messages,
    limits: new MemorySendLimits(),
    authTokenSignals: new MemoryAuthTokenSignals(),
    ...(testMode ? { testInbox: new MemoryTestInbox() } : {}),
  };
}

async function openRedisStores(
  config: RedisConnection & { readonly keyPrefix: string; readonly secretShards: number },
  logger: Logger,
  options: OpenStoresOptions,
  calls: StoreCalls,
  testMode: boolean,
): Promise<ShortLivedStores> {
  const redis = await connectRedis(config, logger);
  try {
    await guardShardCount(redis, config.keyPrefix, config.secretShards);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  options.metrics?.watchRedisCommands(() => pendingCommands(redis));
  // One client for all three: ioredis pipelines commands on it, and the secrets store closes it.
  const { keyPrefix, secretShards: shardCount } = config;
  let authTokenSignals: RedisAuthTokenSignals;
  try {
    authTokenSignals = await RedisAuthTokenSignals.open({ redis, keyPrefix, logger, calls });
  } catch (error) {
    redis.disconnect();
    throw new Error("Redis is not reachable for pub/sub (the connection auth token watches listen on)", { cause: error });
  }
  return {
    authTokenSignals,
    secrets: new RedisPendingSecrets({ redis, keyPrefix, shardCount, calls, ...(options.onSecretQueued === undefined ? {} : { onQueued: options.onSecretQueued }) }),
    secretMessages: new RedisSecretQueue({ redis, keyPrefix, shardCount, calls }),
    limits: new RedisSendLimits({ redis, keyPrefix, ownsClient: false, calls, logger }),
    ...(testMode ? { testInbox: new RedisTestInbox(redis, keyPrefix) } : {}),
  };
}
