import type { GuessPool } from "../secrets/oneTimeSecrets.js";
import type { TrafficRequest } from "../secrets/sendLimits.js";
import type { DescribeNumber, NumberFacts } from "./numberFacts.js";
import { DestinationNotAllowed } from "./trafficErrors.js";
import type { TrafficRules } from "./trafficRules.js";

/** The channel a code travels by, as the traffic rules count it. */
export type Medium = "email" | "sms";

/**
 * What may be sent where, decided from the destination alone: never from whether it is known,
 * so a refusal tells a caller nothing about anyone (seen from outside, a refused number is refused
 * for everybody). Two parts:
 * - the destination policy (checkDestination): SMS by country and number type, no I/O, checked
 *   before anything is looked up or charged;
 * - the traffic a send is charged to (trafficOf): the channel's global cap, the number's prefix
 *   and country rates, the country's spend and its conversion, counted by the send limits in the
 *   same step as the destination's own limits.
 */
export class TrafficPolicy {
  constructor(
    private readonly rules: TrafficRules,
    private readonly describe: DescribeNumber,
    /** Keyed hash naming a prefix's counters, so a store dump shows no digits of anyone's number. */
    private readonly prefixHash: (prefix: string) => string,
  ) {}

  /** Throws DestinationNotAllowed for an SMS number the policy refuses; an email passes. */
  checkDestination(medium: Medium, address: string): void {
    if (medium === "sms") this.allowedNumber(address);
  }

  /**
   * The traffic a send to `address` is charged to; the number must pass the policy. Each pool
   * counts on counters of its own, so what anyone can have sent (the public pool) never uses up
   * the caps, budget or conversion of the codes backends ask for on a user's behalf. The prefix
   * and country rates judge the public pool only: a login code to a user's own number must go
   * however many users of its prefix log in this hour; the conversion guard, the caps and the
   * budget judge both (pumping through a backend's verifications shows as low conversion too).
   */
  trafficOf(medium: Medium, address: string, pool: GuessPool): TrafficRequest {
    if (medium === "email") {
      const { global } = this.rules.email;
      return { channel: "email", pool, ...(global === undefined ? {} : { global }) };
    }
    const facts = this.allowedNumber(address);
    const sms = this.rules.sms;
    const prefix = `+${facts.callingCode}${facts.nationalNumber.slice(0, sms.prefixDigits)}`;
    const cost = sms.prices === undefined ? 1 : (sms.prices.byCountry.get(facts.country) ?? sms.prices.otherwise);
    const budgeted = sms.budget.hourly !== undefined || sms.budget.daily !== undefined;
    const rated = pool === "public";
    return {
      channel: "sms",
      pool,
      ...(sms.global === undefined ? {} : { global: sms.global }),
      area: {
        country: facts.country,
        prefix: this.prefixHash(prefix),
        ...(!rated || sms.prefixLimit === undefined ? {} : { prefixLimit: sms.prefixLimit }),
        ...(!rated || sms.countryLimit === undefined ? {} : { countryLimit: sms.countryLimit }),
        ...(budgeted ? { spend: { cost, ...sms.budget } } : {}),
        ...(sms.conversion === undefined ? {} : { conversion: sms.conversion }),
      },
    };
  }

  private allowedNumber(e164: string): NumberFacts {
    const facts = this.describe(e164);
    const { allowedCountries, deniedCountries, deniedTypes } = this.rules.sms;
    if (deniedTypes.has(facts.type)) throw new DestinationNotAllowed(facts, "number_type");
    if (deniedCountries.has(facts.country) || (allowedCountries !== undefined && !allowedCountries.has(facts.country))) {
      throw new DestinationNotAllowed(facts, "country");
    }
    return facts;
  }
}
