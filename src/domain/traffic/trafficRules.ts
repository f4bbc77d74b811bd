import type { WindowLimit } from "../secrets/sendLimits.js";
import type { NumberType } from "./numberFacts.js";

/** The server's rules for what may be sent where, whoever asks (from config: the SMS_* and EMAIL_* traffic variables). */
export interface TrafficRules {
  readonly sms: SmsTrafficRules;
  readonly email: {
    /** Emails per window, every address together; absent: no cap. */
    readonly global?: WindowLimit;
  };
}

export interface SmsTrafficRules {
  /** Countries SMS may go to (ISO codes); absent: every country not denied. */
  readonly allowedCountries?: ReadonlySet<string>;
  readonly deniedCountries: ReadonlySet<string>;
  /** Number types refused whatever the country (premium rate, international networks…). */
  readonly deniedTypes: ReadonlySet<NumberType>;
  /** National digits after the country code that make a number's prefix: +44 7911 with 4. */
  readonly prefixDigits: number;
  /** SMS per prefix per window; absent: none. */
  readonly prefixLimit?: WindowLimit;
  /** SMS per country per window; absent: none. */
  readonly countryLimit?: WindowLimit;
  /** SMS per window, every number together; absent: none. */
  readonly global?: WindowLimit;
  /** What one SMS costs per country, in micro-units of the budget's currency; absent: each SMS costs 1 and budgets count messages. */
  readonly prices?: { readonly byCountry: ReadonlyMap<string, number>; readonly otherwise: number };
  /** Spend per country per hour and per day, in the prices' micro-units (or messages); absent: none. */
  readonly budget: { readonly hourly?: number; readonly daily?: number };
  /** Sends against validated codes per prefix and per country; absent: not checked. */
  readonly conversion?: {
    readonly windowMs: number;
    readonly minRatio: number;
    readonly prefixMinSends: number;
    readonly countryMinSends: number;
  };
}
