import { randomBytes } from "node:crypto";

/** What a token is for (seed 003). */
export type AccountTokenKind = "account_creation_request" | "account_creation" | "account_recovery" | "auth";

/** Kinds that go to a device by push. */
export type PushedKind = Extract<AccountTokenKind, "account_creation" | "account_recovery">;

/**
 * Where a token stands. `sending`: a push is on its way and the token is not usable until it went
 * out. A token past its expiry is `expired` whatever the row says (see storedState).
 */
export type AccountTokenState = "sending" | "active" | "used" | "revoked" | "expired";

/** A token's record, as admins see it: never the token, nor the device (kept as a keyed hash). */
export interface AccountTokenRecord {
  readonly id: string;
  readonly kind: AccountTokenKind;
  readonly state: AccountTokenState;
  readonly accountId?: string;
  readonly pushed: boolean;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly validatedAt?: Date;
  readonly attachedAt?: Date;
  readonly usedAt?: Date;
  readonly revokedAt?: Date;
}

/** When a token was validated, attached or used: the fields a step sets. */
export type StepTime = "validatedAt" | "attachedAt" | "usedAt";

/**
 * The record a step returned, with the time it set. The store sets it in the same statement, so
 * one missing is a bug in the store, never a time to make up.
 */
export function withStepTime<K extends StepTime>(record: AccountTokenRecord, field: K): AccountTokenRecord & { readonly [F in K]: Date } {
  if (record[field] === undefined) throw new Error(`the store returned a token record without ${field} from the step that sets it`);
  return record as AccountTokenRecord & { readonly [F in K]: Date };
}

/** A token as handed to its holder: the one time its value is ever shown. */
export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

/** 256 bits (the rule asks for at least 128) from the CSPRNG, base64url: 43 URL-safe characters. */
export function generateAccountToken(): string {
  return randomBytes(32).toString("base64url");
}
