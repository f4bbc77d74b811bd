import type { VerificationMethod } from "./verification.js";

/**
 * What happens to verifications, as operators watch it: starts, successes, wrong codes, lockouts,
 * and reads of verifications that do not exist (expired, used, or guessed ids). These are high
 * volume and concern records that live for minutes, so they go to logs and metrics, never to the
 * audit table, which is for changes to durable records.
 */
export type VerificationEvent = "initiated" | "validated" | "wrong_code" | "locked" | "not_found";

export interface VerificationEventFacts {
  readonly verificationId: string;
  /** Unknown when the verification is not found. */
  readonly method?: VerificationMethod;
}

export interface VerificationEvents {
  record(event: VerificationEvent, facts: VerificationEventFacts): void;
}
