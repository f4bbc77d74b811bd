import { InvalidArgument } from "../../errors/domainError.js";
import type { Actor } from "../actor.js";
import { actingUser } from "./actingUser.js";
import { KeyNotFound, KeyNotVerified, ProfileNotFound } from "./profileTokenErrors.js";
import { keyOf, type NewSecurityProfile, type SecurityProfile, type SecurityProfileStore, type UserKeyType } from "./securityProfile.js";

/** The profile RPCs: read one, create or import one, turn MFA on for a verified key. */
export class SecurityProfiles {
  constructor(private readonly store: SecurityProfileStore) {}

  async get(userId: string | undefined, actor: Actor): Promise<SecurityProfile> {
    const { profile } = await this.store.lookup({ userId: actingUser(actor, userId) });
    if (profile === null) throw new ProfileNotFound();
    return profile;
  }

  /** The keys come checked and normalised; MFA only for a verified key, and at least one key. */
  create(profile: NewSecurityProfile, actor: Actor): Promise<SecurityProfile> {
    if (profile.email === undefined && profile.phone === undefined) {
      throw InvalidArgument.field("email", "required", "a profile needs an email or a phone_number");
    }
    for (const [field, key] of [["email", profile.email], ["phone_number", profile.phone]] as const) {
      if (key?.mfaEnabled === true && !key.verified) {
        throw InvalidArgument.field(`${field}.mfa_enabled`, "verified", "MFA can only be on for a verified key");
      }
    }
    return this.store.create(profile, actor);
  }

  async enableMfa(userId: string | undefined, type: UserKeyType, actor: Actor): Promise<SecurityProfile> {
    const acting = actingUser(actor, userId);
    const changed = await this.store.apply(acting, { kind: "enable_mfa", type }, actor);
    if (changed !== null) return changed;
    // Only a refusal pays for a second read, to say why.
    const { profile } = await this.store.lookup({ userId: acting });
    if (profile === null) throw new ProfileNotFound();
    if (keyOf(profile, type) === undefined) throw new KeyNotFound();
    throw new KeyNotVerified();
  }
}
