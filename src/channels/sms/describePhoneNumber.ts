import { parsePhoneNumberFromString, type NumberType as PlanNumberType } from "libphonenumber-js/max";
import type { NumberFacts, NumberType } from "../../domain/traffic/numberFacts.js";

const typeNames: Readonly<Record<NonNullable<PlanNumberType>, NumberType>> = {
  MOBILE: "mobile",
  FIXED_LINE: "fixed_line",
  FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
  TOLL_FREE: "toll_free",
  PREMIUM_RATE: "premium_rate",
  SHARED_COST: "shared_cost",
  VOIP: "voip",
  PERSONAL_NUMBER: "personal_number",
  PAGER: "pager",
  UAN: "uan",
  VOICEMAIL: "voicemail",
};

/**
 * The country and type of a number from libphonenumber's full metadata, which knows each
 * country's premium and shared-cost ranges. A number of no country (+881 satellite, +882/+883
 * international networks, +979 international premium) is an international network whatever
 * the plan calls it: such numbers are billed at rates the sender cannot foresee.
 */
export function describePhoneNumber(e164: string): NumberFacts {
  const parsed = parsePhoneNumberFromString(e164);
  if (parsed === undefined) return { country: "unknown", type: "unknown", callingCode: "", nationalNumber: "" };
  const callingCode = parsed.countryCallingCode;
  const nationalNumber = parsed.nationalNumber;
  if (parsed.country === undefined) return { country: "international", type: "international_network", callingCode, nationalNumber };
  const type = parsed.getType();
  return { country: parsed.country, type: type === undefined ? "unknown" : typeNames[type], callingCode, nationalNumber };
}
