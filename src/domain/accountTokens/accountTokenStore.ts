import type { Actor } from "../actor.js";
import type { AccountTokenKind, AccountTokenRecord, AccountTokenState, PushedKind } from "./accountToken.js";

/**
 * Durable account tokens (Postgres, or PGlite embedded). Callers name a token by its keyed hash,
 * never its value, and a device by the keyed hash of its provider and device token. Every change
 * is one statement: the check, the change and its audit row (by `actor`) commit together, and
 * concurrent callers on any instance are ordered by the row lock, never by a read in the
 * application. A token past its expiry that someone tries to use is marked expired, audited as
 * `expired_on_use`, and answered as missing.
 */
export interface AccountTokenStore {
  /** A new active token. */
  create(token: NewAccountToken, actor: Actor): Promise<AccountTokenRecord>;

  /**
   * A new token for a device, in state `sending`, unless a token of this kind for this device is
   * live (sending, or active and unexpired) or the device had `limit.count` tokens of this kind
   * created in the last `limit.windowMs`.
   */
  reserveForPush(token: NewAccountToken & { readonly kind: PushedKind; readonly deviceHash: string }, limit: DeviceLimit, actor: Actor): Promise<PushReservation>;

  /** `sending` to `active` (audited `sent`) once the push went out; false if it is no longer sending. */
  markSent(id: string, actor: Actor): Promise<boolean>;

  /** Revokes a token whose push failed (audited `revoked`, reason `push_failed`). */
  cancelSend(id: string, actor: Actor): Promise<void>;

  /**
   * Whether an active, unvalidated request token has this hash, without changing it (one found
   * past its expiry is marked expired, as on every use): the check made before a CAPTCHA
   * provider is asked, so a made-up token costs no provider call.
   */
  awaitsValidation(tokenHash: string, actor: Actor): Promise<boolean>;

  /** Marks an active, unvalidated request token validated (its CAPTCHA passed). */
  validateRequest(tokenHash: string, actor: Actor): Promise<AccountTokenRecord | null>;

  /** Spends a validated request token and creates the account creation token it buys, in one step. */
  createFromRequest(requestHash: string, token: NewAccountToken, actor: Actor): Promise<FromRequestOutcome>;

  /**
   * Spends an active token of `kind`, once; `accountId` links it to an account. Null when there
   * is no such usable token (unknown, expired, used, revoked).
   */
  use(kind: Extract<AccountTokenKind, "account_creation" | "account_recovery">, tokenHash: string, accountId: string | undefined, actor: Actor): Promise<AccountTokenRecord | null>;

  /** Attaches an active, unattached auth token to an account. */
  attach(tokenHash: string, accountId: string, actor: Actor): Promise<AccountTokenRecord | null>;

  /** Spends an attached auth token; an unattached one is `pending` and stays as it is. */
  redeem(tokenHash: string, actor: Actor): Promise<RedeemOutcome>;

  /** An auth token as its holder sees it, without changing it; null if unknown. */
  authState(tokenHash: string): Promise<AuthTokenView | null>;

  list(filter: AccountTokenFilter, page: { readonly size: number; readonly after?: PageCursor }): Promise<AccountTokenPage>;

  /**
   * Revokes a usable token; any other comes back as it is. Null when no token has this id. With
   * the token's keyed hash, which names it to its watchers (AuthTokenSignals).
   */
  revoke(id: string, actor: Actor): Promise<{ readonly record: AccountTokenRecord; readonly tokenHash: string } | null>;
}

export interface NewAccountToken {
  readonly kind: AccountTokenKind;
  readonly tokenHash: string;
  readonly ttlMs: number;
}

export interface DeviceLimit {
  /** Tokens of one kind a device may be sent per window; a positive integer. */
  readonly count: number;
  /** Sliding window, a positive integer. */
  readonly windowMs: number;
}

export type PushReservation =
  | { readonly status: "reserved"; readonly record: AccountTokenRecord }
  | { readonly status: "already_sent" }
  | { readonly status: "device_limit" };

export type FromRequestOutcome =
  | { readonly status: "created"; readonly record: AccountTokenRecord }
  | { readonly status: "not_validated" }
  | { readonly status: "not_found" };

export type RedeemOutcome =
  | { readonly status: "redeemed"; readonly accountId: string }
  | { readonly status: "pending" }
  | { readonly status: "not_found" };

export interface AuthTokenView {
  readonly state: "pending" | "attached" | "used" | "revoked" | "expired";
  readonly expiresAt: Date;
}

export interface AccountTokenFilter {
  readonly deviceHash?: string;
  readonly accountId?: string;
  readonly kind?: AccountTokenKind;
  readonly state?: AccountTokenState;
}

/** Where the previous page ended: its last row's creation time (exact, as Postgres wrote it) and id. */
export interface PageCursor {
  readonly createdAt: string;
  readonly id: string;
}

export interface AccountTokenPage {
  readonly tokens: readonly AccountTokenRecord[];
  /** Set when there may be more. */
  readonly next?: PageCursor;
}
