/**
 * Where the abuse controls report each refusal, so an operator sees which rule fires, on which
 * channel and in which country. Observability implements it (a counter, a log line, the budget
 * gauge); the domain only says what happened. Never given an address: a refusal is about a rule.
 */
export interface SendRefusals {
  refused(refusal: Refusal): void;
}

export interface Refusal {
  /** The rule, in snake case: "prefix_rate", "destination_number_type", "client_limit", "resend_too_soon"… */
  readonly rule: string;
  /** "sms", "email", "totp", or for a per-caller limit the calls it counts ("profile-tokens"). */
  readonly channel: string;
  /** ISO code of an SMS number's country, "international" for non-geographic networks. */
  readonly country?: string;
  /** When the refusal ends, for those that end. */
  readonly retryAfterMs?: number;
}

/** Reports nothing: for tests and tools that build the domain without observability. */
export const unobservedRefusals: SendRefusals = { refused: () => undefined };
