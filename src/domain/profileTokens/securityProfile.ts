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
  readonly createdAt: Date;
  readonly updatedAt: Date;
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
  /** Key addition, change (step 2), recovery (step 2): the key becomes `value`, verified, MFA off. */
  | {
      readonly kind: "set_key";
      readonly type: UserKeyType;
      /** The value the key must still have; null: the profile must still have no such key. */
      readonly current: string | null;
      /** Key change: MFA must still be off for the key. Recovery replaces a lost key whatever its MFA. */
      readonly requireMfaOff: boolean;
      readonly value: string;
    }
  /** Removal: the key must still be `current`, with MFA off, and not the last key. */
  | { readonly kind: "remove_key"; readonly type: UserKeyType; readonly current: string }
  | { readonly kind: "disable_mfa"; readonly type: UserKeyType }
  /** Only for a verified key. */
  | { readonly kind: "enable_mfa"; readonly type: UserKeyType }
  | { readonly kind: "set_anti_phishing_code"; readonly code: string };

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
  apply(userId: string, change: ProfileChange, actor: Actor): Promise<SecurityProfile | null>;
}
