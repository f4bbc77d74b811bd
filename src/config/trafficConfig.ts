import type { GuessPool } from "../domain/secrets/oneTimeSecrets.js";
import { dayMs, hourMs, type GuessBudget, type WindowLimit } from "../domain/secrets/sendLimits.js";
import type { NumberType } from "../domain/traffic/numberFacts.js";
import type { TrafficRules } from "../domain/traffic/trafficRules.js";
import type { Parsed } from "./config.js";

/** Prices and money budgets are kept in millionths, so the store counts whole numbers. */
const microUnits = 1_000_000;

/** The destination policy and traffic rules from the SMS_* and EMAIL_* variables; problems go to `problems`. */
export function trafficConfig(v: Parsed, problems: string[]): TrafficRules {
  const allowed = v.SMS_ALLOWED_COUNTRIES ?? [];
  const denied = new Set(v.SMS_DENIED_COUNTRIES ?? []);
  const both = allowed.filter((country) => denied.has(country));
  if (both.length > 0) problems.push(`SMS_ALLOWED_COUNTRIES and SMS_DENIED_COUNTRIES: ${both.join(", ")} in both`);
  const prices = smsPrices(v.SMS_PRICES, problems);
  // Without prices a budget counts messages, which come whole.
  const budget = (name: "SMS_COUNTRY_HOURLY_BUDGET" | "SMS_COUNTRY_DAILY_BUDGET"): number | undefined => {
    const value = v[name];
    if (value === undefined || value === 0) return undefined;
    if (prices !== undefined) return Math.round(value * microUnits);
    if (!Number.isInteger(value)) problems.push(`${name}: counts messages while SMS_PRICES is unset, so it must be a whole number`);
    return Math.max(1, Math.floor(value));
  };
  const hourly = budget("SMS_COUNTRY_HOURLY_BUDGET");
  const daily = budget("SMS_COUNTRY_DAILY_BUDGET");
  const minRatio = v.SMS_CONVERSION_MIN_RATIO!;
  const global = perWindow(v.EMAIL_PER_MINUTE_LIMIT!, 60_000);
  const smsGlobal = perWindow(v.SMS_PER_MINUTE_LIMIT!, 60_000);
  const prefixLimit = perWindow(v.SMS_PREFIX_HOURLY_LIMIT!, hourMs);
  const countryLimit = perWindow(v.SMS_COUNTRY_HOURLY_LIMIT!, hourMs);
  return {
    sms: {
      ...(allowed.length === 0 ? {} : { allowedCountries: new Set(allowed) }),
      deniedCountries: denied,
      deniedTypes: new Set((v.SMS_DENIED_NUMBER_TYPES ?? []) as NumberType[]),
      prefixDigits: v.SMS_PREFIX_DIGITS!,
      ...(prefixLimit === undefined ? {} : { prefixLimit }),
      ...(countryLimit === undefined ? {} : { countryLimit }),
      ...(smsGlobal === undefined ? {} : { global: smsGlobal }),
      ...(prices === undefined ? {} : { prices }),
      budget: { ...(hourly === undefined ? {} : { hourly }), ...(daily === undefined ? {} : { daily }) },
      ...(minRatio === 0
        ? {}
        : {
            conversion: {
              windowMs: v.SMS_CONVERSION_WINDOW_SECONDS! * 1000,
              minRatio,
              prefixMinSends: v.SMS_CONVERSION_PREFIX_MIN_SENDS!,
              countryMinSends: v.SMS_CONVERSION_COUNTRY_MIN_SENDS!,
            },
          }),
    },
    email: global === undefined ? {} : { global },
  };
}

/** The guesses per recipient in each pool (see GuessPool). */
export function guessPools(v: Parsed): Readonly<Record<GuessPool, Omit<GuessBudget, "reserve">>> {
  return {
    account: {
      limit: v.VERIFICATION_GUESS_LIMIT!,
      windowMs: v.VERIFICATION_GUESS_WINDOW_SECONDS! * 1000,
      long: { limit: v.VERIFICATION_GUESS_DAILY_LIMIT!, windowMs: dayMs },
    },
    public: {
      limit: v.PUBLIC_GUESS_LIMIT!,
      windowMs: v.PUBLIC_GUESS_WINDOW_SECONDS! * 1000,
      long: { limit: v.PUBLIC_GUESS_DAILY_LIMIT!, windowMs: dayMs },
      streak: { limit: v.PUBLIC_GUESS_STREAK_LIMIT!, windowMs: v.PUBLIC_GUESS_STREAK_WINDOW_SECONDS! * 1000 },
    },
  };
}

function perWindow(limit: number, windowMs: number): WindowLimit | undefined {
  return limit === 0 ? undefined : { limit, windowMs };
}

function smsPrices(entries: readonly string[] | undefined, problems: string[]): { byCountry: ReadonlyMap<string, number>; otherwise: number } | undefined {
  if (entries === undefined || entries.length === 0) return undefined;
  const byCountry = new Map<string, number>();
  let otherwise: number | undefined;
  for (const entry of entries) {
    const match = /^([A-Za-z]{2}|\*)=(\d{1,6}(?:\.\d{1,6})?)$/.exec(entry);
    if (match === null) {
      problems.push(`SMS_PRICES: "${entry}" is not COUNTRY=price (GB=0.035) or *=price`);
      continue;
    }
    const price = Math.round(Number(match[2]) * microUnits);
    if (price <= 0) {
      // A free SMS would charge nothing to the budget, and the store refuses a cost of 0.
      problems.push(`SMS_PRICES: "${entry}" must cost at least 0.000001`);
      continue;
    }
    if (match[1] === "*") otherwise = price;
    else byCountry.set(match[1]!.toUpperCase(), price);
  }
  if (otherwise === undefined) {
    problems.push("SMS_PRICES: needs a *=price entry for every country not listed (an unpriced SMS would be free to the budget)");
    return undefined;
  }
  return { byCountry, otherwise };
}
