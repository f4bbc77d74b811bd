import type { CountryCode } from "libphonenumber-js";
import { InvalidArgument } from "../errors/domainError.js";
import { normaliseEmailAddress } from "./email/emailAddress.js";
import { checkPushTarget } from "./push/pushTarget.js";
import { normalisePhoneNumber } from "./sms/phoneNumber.js";
import type { PushTarget } from "./channel.js";

/**
 * Checks a destination where it enters the system, before anything is stored or sent, and names
 * the request field in the `invalid_argument` answer. Returns the normalised form to store.
 */
export function requireEmailAddress(value: string, field: string): string {
  const result = normaliseEmailAddress(value);
  if (!result.ok) throw InvalidArgument.field(field, "email", result.reason);
  return result.address;
}

export function requirePhoneNumber(value: string, field: string, defaultCountry?: CountryCode): string {
  const result = normalisePhoneNumber(value, defaultCountry);
  if (!result.ok) throw InvalidArgument.field(field, "phone_number", result.reason);
  return result.e164;
}

export function requirePushTarget(target: PushTarget, fieldPrefix: string): PushTarget {
  const violations = checkPushTarget(target);
  if (violations.length > 0) {
    throw new InvalidArgument(violations.map((violation) => ({ ...violation, field: `${fieldPrefix}${violation.field}` })));
  }
  return target;
}
