import {
  parsePhoneNumberWithError,
  ParseError,
  validatePhoneNumberLength,
  type CountryCode,
} from "libphonenumber-js/max";
import { InvalidArgument } from "../../errors/domainError.js";

export type { CountryCode };

export type PhoneNumberResult = { ok: true; e164: string } | { ok: false; reason: string };

/**
 * What a person may type around the digits: a leading `+`, spaces, dashes, dots, parentheses.
 * libphonenumber alone is too forgiving for an address we send secrets to: it reads `1-800-FLOWERS`
 * as a vanity number and drops trailing text, so anything else is refused before it parses.
 */
const allowedCharacters = /^\+?[0-9 \-.()\u00a0]+$/;

/** E.164 allows 15 digits; the slack covers formatting, and the cap keeps parsing cheap. */
const maxInputLength = 40;

/**
 * Checks a phone number where it enters the system, before anything is stored or sent, and names
 * the request field in the `invalid_argument` answer. Returns the E.164 form to store.
 */
export function requirePhoneNumber(value: string, field: string, defaultCountry?: CountryCode): string {
  const result = normalisePhoneNumber(value, defaultCountry);
  if (!result.ok) throw InvalidArgument.field(field, "phone_number", result.reason);
  return result.e164;
}

/**
 * Turns what a user typed into E.164, or says why it is not a phone number we can text. Uses the
 * `max` metadata, which checks each country's real number ranges (an unassigned area code is
 * refused), not only whether the length is possible. `defaultCountry` applies to numbers typed
 * without a `+` and country code; without it such numbers are refused.
 *
 * It does not refuse landlines: some providers deliver to them, and the provider answers for
 * the rest (Twilio 21614, 21635), which the channel reports as `rejected`.
 */
export function normalisePhoneNumber(input: string, defaultCountry?: CountryCode): PhoneNumberResult {
  const trimmed = input.trim();
  if (trimmed === "") return { ok: false, reason: "phone number is empty" };
  if (trimmed.length > maxInputLength) return { ok: false, reason: "phone number is too long" };
  if (!allowedCharacters.test(trimmed)) {
    return { ok: false, reason: "phone number may only have digits, spaces, - . ( ) and a leading +" };
  }
  try {
    const options = defaultCountry === undefined ? {} : { defaultCountry };
    const parsed = parsePhoneNumberWithError(trimmed, options);
    // Only reachable through "ext." text, which the character check refuses; kept so a looser
    // check later cannot let an extension through to a provider that would ignore it.
    if (parsed.ext !== undefined) return { ok: false, reason: "phone number must not have an extension" };
    if (!parsed.isPossible()) {
      const problem = validatePhoneNumberLength(trimmed, options) ?? "INVALID_LENGTH";
      return { ok: false, reason: parseErrorReasons[problem] ?? "phone number has the wrong length for its country" };
    }
    if (!parsed.isValid()) return { ok: false, reason: "phone number is not in use in its country" };
    return { ok: true, e164: parsed.number };
  } catch (error) {
    if (error instanceof ParseError) {
      return { ok: false, reason: parseErrorReasons[error.message] ?? "not a phone number" };
    }
    throw error;
  }
}

const parseErrorReasons: Readonly<Record<string, string>> = {
  INVALID_COUNTRY: "phone number needs a + and a valid country code",
  NOT_A_NUMBER: "not a phone number",
  TOO_SHORT: "phone number is too short",
  TOO_LONG: "phone number is too long",
  INVALID_LENGTH: "phone number has the wrong length for its country",
};
