import { requireEmailAddress } from "../destinations/emailAddress.js";
import { requirePhoneNumber } from "../destinations/phoneNumber.js";
import { InvalidArgument } from "../../errors/domainError.js";
import type { Actor } from "../actor.js";
import { notYourProfile } from "./profileTokenErrors.js";
import type { UserKey, UserKeyType } from "./securityProfile.js";

/**
 * The user a call acts on: a user principal only ever itself (naming another user is refused,
 * never silently replaced), a service or admin the user it names.
 */
export function actingUser(actor: Actor, named: string | undefined): string {
  if (actor.kind === "user") {
    if (named !== undefined && named !== "" && named !== actor.subject) throw notYourProfile();
    return actor.subject ?? "";
  }
  if (named === undefined || named === "") throw InvalidArgument.field("user_id", "required", "is required for service callers");
  return named;
}

/** A key as typed, checked and normalised (email domain lowercased, phone in E.164); `field` names it in errors. */
export function userKeyFrom(type: UserKeyType, raw: string, field: string): UserKey {
  return { type, value: type === "email" ? requireEmailAddress(raw, field) : requirePhoneNumber(raw, field) };
}
