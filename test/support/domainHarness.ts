import { channelRegistry } from "../../src/channels/channelRegistry.js";
import { createTemplateRenderer } from "../../src/channels/templates/index.js";
import { createSecretBox, type SecretBox } from "../../src/crypto/secretBox.js";
import { createMessageSealer } from "../../src/delivery/delivery.js";
import type { MessageSealer } from "../../src/domain/messages/messageDelivery.js";
import { OutboxRelay } from "../../src/delivery/outboxRelay.js";
import { Sender } from "../../src/delivery/sender.js";
import type { OneTimeSecrets } from "../../src/domain/secrets/oneTimeSecrets.js";
import type { PendingSecrets } from "../../src/domain/secrets/pendingSecrets.js";
import type { TotpSecretStore } from "../../src/domain/totp/totpSecretStore.js";
import type { VerificationEvent, VerificationEventFacts } from "../../src/domain/verification/verificationEvents.js";
import { Verifications, type VerificationRules } from "../../src/domain/verification/verificationService.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { MemoryPendingSecrets } from "../../src/storage/memory/memoryPendingSecrets.js";
import { MemorySendLimits } from "../../src/storage/memory/memorySendLimits.js";
import { RecordingChannel } from "./recordingChannel.js";
import { loadConfig } from "../../src/config/config.js";
import type { Refusal } from "../../src/domain/secrets/sendRefusals.js";
import type { TrafficRules } from "../../src/domain/traffic/trafficRules.js";
import type { AccountTokens } from "../../src/domain/accountTokens/accountTokens.js";
import type { AccountTokenStore } from "../../src/domain/accountTokens/accountTokenStore.js";
import { MemoryAuthTokenSignals } from "../../src/storage/memory/memoryAuthTokenSignals.js";
import { inMemoryDataDir, openDatabase, type Database } from "../../src/storage/sql/database.js";
import { sqlAccountTokens } from "../../src/storage/sql/sqlAccountTokens.js";
import { testMigrationContext } from "./postgres.js";
import { buildAccountTokens, buildOneTimeSecrets, domainHashes } from "../../src/wiring/domain.js";

/** Time that moves only when a test says so. */
export class TestClock {
  constructor(private ms = Date.UTC(2026, 0, 1)) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export const defaultRules: VerificationRules = {
  defaultTtlMs: 600_000,
  maxTtlMs: 86_400_000,
  defaultMaxAttempts: 5,
  sends: { limit: 5, windowMs: 600_000, firstResendDelayMs: 30_000, maxResendDelayMs: 300_000 },
  guesses: { limit: 50, windowMs: 3_600_000, long: { limit: 200, windowMs: 86_400_000 } },
  maxPayloadBytes: 4_096,
  defaultIssuer: "onetime",
};

/**
 * Account tokens with their real rules, over the embedded backend's own stores: PGlite in memory
 * (account tokens have no in-process store: PGlite is the embedded one) and in-process signals,
 * with the harness's send limits behind the per-client limit. Close it when done.
 */
export interface AccountTokenHarness {
  readonly tokens: AccountTokens;
  readonly store: AccountTokenStore;
  readonly db: Database;
  close(): Promise<void>;
}

export interface DomainHarness {
  readonly clock: TestClock;
  readonly pending: MemoryPendingSecrets;
  readonly limits: MemorySendLimits;
  readonly box: SecretBox;
  readonly sealer: MessageSealer;
  readonly secrets: OneTimeSecrets;
  readonly email: RecordingChannel<"email">;
  readonly sms: RecordingChannel<"sms">;
  /** Verification events recorded, in order. */
  readonly events: Array<{ event: VerificationEvent } & VerificationEventFacts>;
  /** What the abuse controls refused, in order. */
  readonly refusals: Refusal[];
  /** Verifications over these stores; `totpSecrets` only if the harness was given one. */
  verifications(rules?: Partial<VerificationRules>): Verifications;
  /** Runs the relay once over the queue beside the secrets; returns how many messages it took. */
  deliver(): Promise<number>;
  /** Account tokens over embedded PGlite (see AccountTokenHarness); each call opens its own database. */
  accountTokens(): Promise<AccountTokenHarness>;
}

/**
 * The domain with its real rules over the in-process stores, built by the server's own builders
 * (src/wiring/domain.ts), with a clock the test moves and channels that record what they were
 * given: no sockets, no Redis, no sleeps, so a rule is checked in milliseconds. The contract suites prove the memory stores behave as Redis does; the end-to-end
 * suites still run everything on the real stores.
 */
export async function domainHarness(
  options: {
    totpSecrets?: TotpSecretStore;
    /** Wraps the store OneTimeSecrets uses (e.g. to inject failures); `pending` stays the bare store. */
    wrapPending?: (pending: MemoryPendingSecrets) => PendingSecrets;
    /** The destination policy and traffic rules; default the server's defaults. */
    traffic?: TrafficRules;
    /** Where the domain logs; default silent. */
    logger?: Logger;
  } = {},
): Promise<DomainHarness> {
  const clock = new TestClock();
  const pending = new MemoryPendingSecrets({ now: clock.now, sweepIntervalMs: 0 });
  const limits = new MemorySendLimits({ now: clock.now });
  const box = createSecretBox([{ id: "test", key: new Uint8Array(32).fill(7) }]);
  const serverKey = new Uint8Array(32).fill(9);
  const email = new RecordingChannel("email");
  const sms = new RecordingChannel("sms");
  const logger = options.logger ?? createLogger("silent");
  const sender = new Sender(channelRegistry({ email, sms }), logger, createMetrics());
  const sealer = createMessageSealer({ sender, box, maxAttempts: 3 });
  const relay = new OutboxRelay(pending.messages, box, sender, logger, { retry: { baseDelayMs: 10, maxDelayMs: 10 } });
  const events: DomainHarness["events"] = [];
  const refusals: Refusal[] = [];
  const templates = await createTemplateRenderer({ productName: "onetime", fallbackLocale: "en" });
  const hashes = domainHashes(serverKey);
  const secrets = buildOneTimeSecrets({
    pending: options.wrapPending?.(pending) ?? pending,
    limits,
    box,
    hashes,
    delivery: sealer,
    traffic: options.traffic ?? loadConfig({}).traffic,
    refusals: { refused: (refusal) => refusals.push(refusal) },
    logger,
    now: clock.now,
  });
  return {
    clock,
    pending,
    limits,
    box,
    sealer,
    secrets,
    email,
    sms,
    events,
    refusals,
    verifications(rules = {}) {
      const totpSecrets = options.totpSecrets ?? unavailableTotpSecrets;
      return new Verifications({ secrets, totpSecrets, box, delivery: sealer, templates, rules: { ...defaultRules, ...rules }, events: { record: (event, facts) => events.push({ event, ...facts }) }, logger, now: clock.now });
    },
    deliver: () => relay.runOnce(),
    async accountTokens() {
      const db = await openDatabase({ kind: "pglite", dataDir: inMemoryDataDir, schema: "public" }, testMigrationContext);
      const store = sqlAccountTokens(db);
      const signals = new MemoryAuthTokenSignals();
      const tokens = buildAccountTokens({
        store,
        limits,
        hashes,
        client: { count: 1_000, windowMs: 60_000 },
        delivery: { sendNow: () => Promise.reject(new Error("this harness sends no push: pushed tokens are tested over sockets")) },
        templates,
        signals,
        rules: {
          ttlMs: { account_creation_request: 600_000, account_creation: 600_000, account_recovery: 600_000, auth: 600_000 },
          device: { count: 3, windowMs: 86_400_000 },
          pushTimeoutMs: 5_000,
        },
        logger,
      });
      return {
        tokens,
        store,
        db,
        async close() {
          await signals.close();
          await db.destroy();
        },
      };
    },
  };
}

/** Rules of codes sent by email and SMS never reach the authenticator store; TOTP tests pass a real one. */
const unavailableTotpSecrets: TotpSecretStore = new Proxy({} as TotpSecretStore, {
  get() {
    throw new Error("this harness has no TOTP store: pass domainHarness({ totpSecrets })");
  },
});
