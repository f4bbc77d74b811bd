import type { TemplateRenderer } from "../messages/messageTemplates.js";
import type { KeyedHash } from "../../crypto/keyedHash.js";
import type { DirectDelivery } from "../messages/messageDelivery.js";
import type { Logger } from "../logger.js";
import type { AccountTokenKind } from "./accountToken.js";
import type { AccountTokenStore, DeviceLimit } from "./accountTokenStore.js";
import type { AuthTokenSignals } from "./authTokenSignals.js";
import type { CaptchaVerifier } from "../captcha.js";
import type { ClientLimits } from "../clientLimits.js";

export interface AccountTokenRules {
  /** How long each kind works. */
  readonly ttlMs: Readonly<Record<AccountTokenKind, number>>;
  /** Tokens of one kind one device may be sent per window. */
  readonly device: DeviceLimit;
  /** Deadline of the synchronous push. */
  readonly pushTimeoutMs: number;
  /**
   * The APNs topics a device's pn_param may name: the default and the ones listed. Absent (APNs
   * not configured): pn_param passes on its character rule alone, as nothing reaches Apple.
   */
  readonly apnsTopics?: { readonly default: string; readonly allowed: readonly string[] };
}

/** What every part of the account token service works with; wired once in wiring/domain.ts. */
export interface AccountTokenDependencies {
  readonly store: AccountTokenStore;
  readonly clientLimits: ClientLimits;
  /** Keyed hash of a token: the only form in which it is kept. */
  readonly tokenHash: KeyedHash;
  /** Keyed hash of `provider:device token`: how a device is named at rest. */
  readonly deviceHash: KeyedHash;
  /** Absent: request tokens cannot be validated (CAPTCHA_NOT_CONFIGURED). */
  readonly captcha?: CaptchaVerifier;
  readonly delivery: DirectDelivery;
  readonly templates: TemplateRenderer;
  readonly signals: AuthTokenSignals;
  readonly rules: AccountTokenRules;
  readonly logger: Logger;
}
