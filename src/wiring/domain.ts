import { describePhoneNumber } from "../channels/sms/describePhoneNumber.js";
import { developmentCaptcha, siteverifyCaptcha } from "../captcha/siteverifyCaptcha.js";
import type { Config } from "../config/config.js";
import { keyedHash, type KeyedHash } from "../crypto/keyedHash.js";
import type { SecretBox } from "../crypto/secretBox.js";
import type { Delivery } from "../delivery/delivery.js";
import type { MessageSealer } from "../domain/messages/messageDelivery.js";
import type { TemplateRenderer } from "../domain/messages/messageTemplates.js";
import type { AccountTokenRules } from "../domain/accountTokens/accountTokenDependencies.js";
import { AccountTokens } from "../domain/accountTokens/accountTokens.js";
import type { AccountTokenStore } from "../domain/accountTokens/accountTokenStore.js";
import type { AuthTokenSignals } from "../domain/accountTokens/authTokenSignals.js";
import type { CaptchaVerifier } from "../domain/captcha.js";
import { ClientLimits, type ClientLimit } from "../domain/clientLimits.js";
import { UserErasure } from "../domain/erasure/userErasure.js";
import { ProfileTokens } from "../domain/profileTokens/profileTokens.js";
import { SecurityProfiles } from "../domain/profileTokens/securityProfiles.js";
import { OneTimeSecrets } from "../domain/secrets/oneTimeSecrets.js";
import type { PendingSecrets } from "../domain/secrets/pendingSecrets.js";
import type { SendLimits } from "../domain/secrets/sendLimits.js";
import type { SendRefusals } from "../domain/secrets/sendRefusals.js";
import { TrafficPolicy } from "../domain/traffic/trafficPolicy.js";
import { testDestinations, type TestDestinations } from "../channels/testMode/testDestinations.js";
import { TestModeTrafficPolicy } from "./testModeTraffic.js";
import type { TrafficRules } from "../domain/traffic/trafficRules.js";
import type { VerificationEvents } from "../domain/verification/verificationEvents.js";
import { Verifications } from "../domain/verification/verificationService.js";
import type { Logger } from "../observability/logger.js";
import type { Stores } from "../storage/stores.js";

/**
 * Every keyed hash the domain names things with, each label written once: a label changed is
 * every name already stored lost, so the server and the tests must derive them alike.
 */
export interface DomainHashes {
  readonly code: KeyedHash;
  readonly recipientScope: KeyedHash;
  readonly request: KeyedHash;
  readonly numberPrefix: KeyedHash;
  /** One for every per-caller limit (addresses, user ids): each limiter names its own windows. */
  readonly caller: KeyedHash;
  readonly accountToken: KeyedHash;
  readonly pushDevice: KeyedHash;
  readonly factorChangeReport: KeyedHash;
}

export function domainHashes(serverKey: Uint8Array): DomainHashes {
  return {
    code: keyedHash(serverKey, "verification-code"),
    recipientScope: keyedHash(serverKey, "consumer-scope", 16),
    request: keyedHash(serverKey, "idempotent-request"),
    numberPrefix: keyedHash(serverKey, "number-prefix", 16),
    caller: keyedHash(serverKey, "client-limit", 16),
    accountToken: keyedHash(serverKey, "account-token"),
    pushDevice: keyedHash(serverKey, "push-device"),
    factorChangeReport: keyedHash(serverKey, "factor-change-report"),
  };
}

/** What every service is built from; `now` is for tests that move the clock. */
interface Common {
  readonly box: SecretBox;
  readonly hashes: DomainHashes;
  readonly refusals?: SendRefusals;
  readonly logger: Logger;
  readonly now?: () => number;
}

export function buildOneTimeSecrets(
  parts: Common & {
    readonly pending: PendingSecrets;
    readonly limits: SendLimits;
    readonly delivery: MessageSealer;
    readonly traffic: TrafficRules;
    /** Test mode's destinations, whose traffic counts apart (testModeTraffic.ts); absent: test mode is off. */
    readonly testDestinations?: TestDestinations;
  },
): OneTimeSecrets {
  const { hashes, refusals, now } = parts;
  return new OneTimeSecrets({
    pending: parts.pending,
    limits: parts.limits,
    box: parts.box,
    codeHash: hashes.code,
    recipientScope: hashes.recipientScope,
    requestHash: hashes.request,
    delivery: parts.delivery,
    traffic:
      parts.testDestinations === undefined
        ? new TrafficPolicy(parts.traffic, describePhoneNumber, hashes.numberPrefix)
        : new TestModeTrafficPolicy(parts.traffic, describePhoneNumber, hashes.numberPrefix, parts.testDestinations),
    ...(refusals === undefined ? {} : { refusals }),
    logger: parts.logger,
    ...(now === undefined ? {} : { now }),
  });
}

export function buildAccountTokens(
  parts: Omit<Common, "box" | "now"> & {
    readonly store: AccountTokenStore;
    readonly limits: SendLimits;
    readonly signals: AuthTokenSignals;
    readonly delivery: Pick<Delivery, "sendNow">;
    readonly templates: TemplateRenderer;
    readonly captcha?: CaptchaVerifier;
    readonly client: ClientLimit;
    readonly rules: AccountTokenRules;
  },
): AccountTokens {
  const { hashes, captcha } = parts;
  return new AccountTokens({
    store: parts.store,
    clientLimits: new ClientLimits(parts.limits, hashes.caller, "account-tokens", parts.client, parts.refusals),
    tokenHash: hashes.accountToken,
    deviceHash: hashes.pushDevice,
    ...(captcha === undefined ? {} : { captcha }),
    delivery: parts.delivery,
    templates: parts.templates,
    signals: parts.signals,
    rules: parts.rules,
    logger: parts.logger,
  });
}

/** The services the RPCs call, over the server's stores. */
export interface Domain {
  readonly verifications: Verifications;
  readonly profileTokens: ProfileTokens;
  readonly securityProfiles: SecurityProfiles;
  readonly accountTokens: AccountTokens;
  readonly erasure: UserErasure;
}

export interface DomainParts extends Common {
  readonly stores: Stores;
  readonly delivery: Delivery;
  readonly templates: TemplateRenderer;
  readonly refusals: SendRefusals;
  readonly events: VerificationEvents;
}

/** Builds every service from the stores, the channels' delivery and the settings. */
export function buildDomain(config: Config, parts: DomainParts): Domain {
  const { stores, box, hashes, delivery, templates, refusals, logger, now } = parts;
  const secrets = buildOneTimeSecrets({
    ...parts,
    pending: stores.secrets,
    limits: stores.limits,
    traffic: config.traffic,
    ...(config.testMode === undefined ? {} : { testDestinations: testDestinations(config.testMode) }),
  });
  const captcha = captchaOf(config, logger);
  return {
    verifications: new Verifications({
      secrets,
      totpSecrets: stores.totpSecrets,
      box,
      delivery,
      templates,
      rules: config.verification,
      events: parts.events,
      logger,
      ...(now === undefined ? {} : { now }),
    }),
    profileTokens: new ProfileTokens({
      secrets,
      profiles: stores.securityProfiles,
      delivery,
      templates,
      ...(captcha === undefined ? {} : { captcha }),
      rules: config.tokens,
      clientLimits: new ClientLimits(stores.limits, hashes.caller, "profile-tokens", config.tokens.client, refusals),
      reportHash: hashes.factorChangeReport,
      logger,
    }),
    securityProfiles: new SecurityProfiles(stores.securityProfiles),
    accountTokens: buildAccountTokens({
      store: stores.accountTokens,
      limits: stores.limits,
      signals: stores.authTokenSignals,
      hashes,
      refusals,
      delivery,
      templates,
      ...(captcha === undefined ? {} : { captcha }),
      client: config.accountTokens.client,
      rules: {
        ttlMs: config.accountTokens.ttlMs,
        device: config.accountTokens.device,
        pushTimeoutMs: config.delivery.sendTimeoutMs,
        ...(config.delivery.apns === undefined ? {} : { apnsTopics: { default: config.delivery.apns.topic, allowed: config.delivery.apns.allowedTopics } }),
      },
      logger,
    }),
    erasure: new UserErasure({ records: stores.userRecords, secrets, logger }),
  };
}

/** One CAPTCHA for both services that ask public callers for an answer. */
function captchaOf(config: Config, logger: Logger): CaptchaVerifier | undefined {
  const captcha = config.accountTokens.captcha;
  if (captcha === undefined) return undefined;
  if (captcha.provider === "development") return developmentCaptcha;
  return siteverifyCaptcha({ ...captcha, timeoutMs: config.delivery.sendTimeoutMs, logger });
}
