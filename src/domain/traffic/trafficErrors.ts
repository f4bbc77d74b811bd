import { DomainError, retryAfterSeconds } from "../../errors/domainError.js";
import type { TrafficRule } from "../secrets/sendLimits.js";
import type { NumberFacts } from "./numberFacts.js";

/** The destination policy refuses this number's country or type, for every caller and every time. */
export class DestinationNotAllowed extends DomainError {
  readonly kind = "permission_denied";
  readonly reason = "DESTINATION_NOT_ALLOWED";
  override readonly metadata: Readonly<Record<string, string>>;
  constructor(
    readonly facts: Pick<NumberFacts, "country" | "type">,
    readonly rule: "country" | "number_type",
  ) {
    super(
      rule === "country"
        ? `SMS to numbers of ${facts.country} is not allowed on this server`
        : `SMS to ${facts.type.replaceAll("_", " ")} numbers is not allowed on this server`,
    );
    this.name = "DestinationNotAllowed";
    this.metadata = { country: facts.country, number_type: facts.type, rule: `destination_${rule}` };
  }
}

type TrafficReason = "TRAFFIC_LIMIT_REACHED" | "SMS_BUDGET_EXHAUSTED" | "CONVERSION_TOO_LOW";

const reasons: Readonly<Record<TrafficRule, TrafficReason>> = {
  channel_rate: "TRAFFIC_LIMIT_REACHED",
  prefix_rate: "TRAFFIC_LIMIT_REACHED",
  country_rate: "TRAFFIC_LIMIT_REACHED",
  hourly_budget: "SMS_BUDGET_EXHAUSTED",
  daily_budget: "SMS_BUDGET_EXHAUSTED",
  prefix_conversion: "CONVERSION_TOO_LOW",
  country_conversion: "CONVERSION_TOO_LOW",
};

const messages: Readonly<Record<TrafficRule, string>> = {
  channel_rate: "this server is sending as many messages through this channel as it allows",
  prefix_rate: "too many messages sent to numbers of this prefix",
  country_rate: "too many messages sent to numbers of this country",
  hourly_budget: "the hourly SMS budget for this country is spent",
  daily_budget: "the daily SMS budget for this country is spent",
  prefix_conversion: "too few codes sent to numbers of this prefix were used",
  country_conversion: "too few codes sent to numbers of this country were used",
};

/** A rule over many destinations refused: the channel, the country or the prefix is full for now. */
export class TrafficRefused extends DomainError {
  readonly kind = "resource_exhausted";
  readonly reason: TrafficReason;
  override readonly metadata: Readonly<Record<string, string>>;
  constructor(
    readonly rule: TrafficRule,
    readonly channel: string,
    readonly country: string | undefined,
    readonly retryAfterMs: number,
  ) {
    const seconds = retryAfterSeconds(retryAfterMs);
    super(`${messages[rule]}; retry in ${seconds} s`);
    this.name = "TrafficRefused";
    this.reason = reasons[rule];
    this.metadata = { rule, retry_after_seconds: String(seconds), ...(country === undefined ? {} : { country }) };
  }
}
