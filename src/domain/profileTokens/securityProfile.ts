import type { NewOutboxMessage } from "../messages/messageDelivery.js";
import type { Actor } from "../actor.js";

/** How a user is reached: at most one of each per profile. */
export type UserKeyType = "email" | "phone";

export const userKeyTypes: readonly UserKeyType[] = ["email", "phone"];

/** A key's value: an email address (domain lowercased) or a phone number in E.164. */
export interface UserKey {
  readonly type: UserKeyType;
  readonly value: string;
}

export interface UserKeyState {
  readonly value: string;
  readonly verified: boolean;
  readonly mfaEnabled: boolean;
}

/**
 * A user's security profile (seeds 000/001): its keys, each verified or not with its own MFA
 * switch, and an optional anti-phishing code. Passwords are not ours.
 */
export interface SecurityProfile {
  readonly userId: string;
  readonly email?: UserKeyState;
  readonly phone?: UserKeyState;
  readonly antiPhishingCode?: string;
  /** Set once a "this wasn't me" report was consumed: factor changes are refused until unlocked. */
  readonly factorChangesLock?: FactorChangesLock;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A change to how a user signs in, announced to the profile's other keys. */
export type FactorChange = "key_added" | "key_changed" | "key_recovered" | "key_removed" | "mfa_disabled";

/** Why a profile's factor changes are locked: the user reported a change as not theirs. */
export interface FactorChangesLock {
  readonly lockedAt: Date;
  /** The change the consumed report was about. */
  readonly reportedChange: FactorChange;
  readonly changedAt: Date;
}

export function keyOf(profile: SecurityProfile, type: UserKeyType): UserKeyState | undefined {
  return type === "email" ? profile.email : profile.phone;
}

export function otherKeyType(type: UserKeyType): UserKeyType {
  return type === "email" ? "phone" : "email";
}

/** A profile as CreateSecurityProfile gives it (values already normalised). */
export interface NewSecurityProfile {
  readonly userId: string;
  readonly email?: UserKeyState;
  readonly phone?: UserKeyState;
  readonly antiPhishingCode?: string;
}

/**
 * One change to a profile, applied only while its condition still holds: the condition was
 * checked when the OTT was requested, and the profile may have changed since.
 */
export type ProfileChange =
  /**
   * Key addition, change (step 2), recovery (step 2): the key becomes `value`, verified, MFA off.
   * This, remove_key and disable_mfa are factor changes: refused while factor changes are locked.
   */
  | {
      readonly kind: "set_key";
      readonly type: UserKeyType;
      /** The value the key must still have; null: the profile must still have no such key. */
      readonly current: string | null;
      /** Key change: MFA must still be off for the key. */
      readonly requireMfaOff: boolean;
      /**
       * Recovery: MFA may be on for the key only while it is on for the other key too, whose OTT
       * then was a second factor (see the key_recovery operation).
       */
      readonly requireSecondFactor?: boolean;
      readonly value: string;
    }
  /** Removal: the key must still be `current`, with MFA off, and not the last key. */
  | { readonly kind: "remove_key"; readonly type: UserKeyType; readonly current: string }
  | { readonly kind: "disable_mfa"; readonly type: UserKeyType }
  /** Only for a verified key. */
  | { readonly kind: "enable_mfa"; readonly type: UserKeyType }
  | { readonly kind: "set_anti_phishing_code"; readonly code: string };

/** One "this wasn't me" report token, kept as its keyed hash. */
export interface NewFactorChangeReport {
  readonly tokenHash: string;
  readonly change: FactorChange;
  readonly ttlMs: number;
}

/** What a factor change sends, written in the change's transaction so it exists iff the change does. */
export interface Announcement {
  readonly reports: readonly NewFactorChangeReport[];
  readonly messages: readonly NewOutboxMessage[];
}

/**
 * Builds a change's announcement from the profile before and after it (called inside the
 * change's transaction, with the row locked; `after.updatedAt` is when it was applied). It must not throw: what cannot be announced is
 * left out, never a reason to undo the change.
 */
export type Announce = (before: SecurityProfile, after: SecurityProfile) => Announcement;

/** What a request needs to read: the profile of a user, and who owns a key (one round trip). */
export interface ProfileLookup {
  readonly profile: SecurityProfile | null;
  /** The user whose profile holds `key`; null when none does or no key was asked about. */
  readonly keyOwner: string | null;
}

/**
 * Durable security profiles (Postgres, or PGlite embedded). Keys and the anti-phishing code are
 * stored sealed, beside a keyed hash of each key that makes it findable and unique, so a dump
 * shows neither addresses nor codes. Every change is one statement that writes its audit row.
 * Implementations pass test/storage/securityProfiles.contract.ts.
 */
export interface SecurityProfileStore {
  /** The profile of `userId` (if given) and the owner of `key` (if given), in one read. */
  lookup(query: { readonly userId?: string; readonly key?: UserKey }): Promise<ProfileLookup>;
  /** Throws ProfileExists or KeyTaken. */
  create(profile: NewSecurityProfile, actor: Actor): Promise<SecurityProfile>;
  /**
   * Applies `change` if its condition holds, with its audit row. Returns the profile after the
   * change, or null if the profile is gone or no longer meets the condition; throws KeyTaken
   * when the new key belongs to another profile.
   */
  apply(userId: string, change: ProfileChange, actor: Actor, announce?: Announce): Promise<SecurityProfile | null>;
  /**
   * Spends an unused, unexpired report token (of `userId`, when given) and locks the profile's
   * factor changes, with its audit row; an already locked profile keeps its first lock. Returns
   * the profile, or null when no such token is live.
   */
  lockFactorChanges(tokenHash: string, userId: string | undefined, actor: Actor): Promise<SecurityProfile | null>;
  /** Lifts the lock, audited if there was one; null when the user has no profile. */
  unlockFactorChanges(userId: string, actor: Actor): Promise<SecurityProfile | null>;
}
