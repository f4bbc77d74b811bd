import { channelRegistry } from "../../src/channels/channelRegistry.js";
import { createTemplateRenderer } from "../../src/channels/templates/index.js";
import { loadConfig } from "../../src/config/config.js";
import { keyedHash } from "../../src/crypto/keyedHash.js";
import { createMessageSealer } from "../../src/delivery/delivery.js";
import { OutboxRelay } from "../../src/delivery/outboxRelay.js";
import { Sender } from "../../src/delivery/sender.js";
import { ClientLimits } from "../../src/domain/clientLimits.js";
import { ProfileTokens } from "../../src/domain/profileTokens/profileTokens.js";
import type { SecurityProfileStore } from "../../src/domain/profileTokens/securityProfile.js";
import type { TokenRules } from "../../src/domain/profileTokens/tokenRules.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { inMemoryDataDir, openDatabase, type Database } from "../../src/storage/sql/database.js";
import { sqlOutbox } from "../../src/storage/sql/sqlOutbox.js";
import { sqlSecurityProfiles } from "../../src/storage/sql/sqlSecurityProfiles.js";
import { domainHarness, type DomainHarness } from "./domainHarness.js";
import { testMigrationContext } from "./postgres.js";
import { RecordingChannel } from "./recordingChannel.js";

export interface ProfileTokenHarness extends DomainHarness {
  readonly db: Database;
  readonly profiles: SecurityProfileStore;
  readonly rules: TokenRules;
  /** TokenService's rules over the harness's stores; `channels` "email" leaves SMS unconfigured. */
  tokens(options?: { channels?: "email"; logger?: Logger; rules?: Partial<TokenRules> }): Promise<ProfileTokens>;
  /** Runs the Postgres outbox's relay once (factor-change notices wait there); returns how many it took. */
  deliverNotices(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The domain harness with TokenService: profiles on embedded PGlite (the embedded default, which
 * passes the same contract tests as Postgres), OTTs on the in-process TTL store, notices through
 * the Postgres outbox to the harness's recording channels. One database per harness: open it
 * once per file, and give each test users and keys of its own.
 */
export async function profileTokenHarness(options: Parameters<typeof domainHarness>[0] = {}): Promise<ProfileTokenHarness> {
  const h = await domainHarness(options);
  const serverKey = new Uint8Array(32).fill(9);
  const profileKeyHash = keyedHash(serverKey, "profile-key");
  const db = await openDatabase({ kind: "pglite", dataDir: inMemoryDataDir, schema: "public" }, { ...testMigrationContext, profileKeyHash });
  const logger = createLogger("silent");
  const outbox = sqlOutbox(db);
  const sender = new Sender(channelRegistry({ email: h.email, sms: h.sms }), logger, createMetrics());
  const relay = new OutboxRelay(outbox, h.box, sender, logger, { retry: { baseDelayMs: 1, maxDelayMs: 1 } });
  const profiles = sqlSecurityProfiles(db, h.box, profileKeyHash, outbox);
  const rules: TokenRules = { ...loadConfig({}).tokens, sends: { limit: 100, windowMs: 3_600_000, firstResendDelayMs: 0, maxResendDelayMs: 0 } };
  const templates = await createTemplateRenderer({ productName: "onetime", fallbackLocale: "en" });
  const callerHash = keyedHash(serverKey, "client-limit", 16);
  return {
    ...h,
    db,
    profiles,
    rules,
    async tokens(options = {}) {
      const delivery =
        options.channels === "email"
          ? createMessageSealer({ sender: new Sender(channelRegistry({ email: h.email }), logger, createMetrics()), box: h.box, maxAttempts: 3 })
          : h.sealer;
      return new ProfileTokens({
        secrets: h.secrets,
        profiles,
        delivery,
        templates,
        rules: { ...rules, ...options.rules },
        clientLimits: new ClientLimits(h.limits, callerHash, "profile-tokens", options.rules?.client ?? rules.client, { refused: () => {} }),
        reportHash: keyedHash(serverKey, "factor-change-report"),
        logger: options.logger ?? logger,
      });
    },
    deliverNotices: () => relay.runOnce(),
    close: () => db.destroy(),
  };
}
