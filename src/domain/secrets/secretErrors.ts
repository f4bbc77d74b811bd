import { DomainError, InvalidArgument, retryAfterSeconds } from "../../errors/domainError.js";

export type SendRefusal = "SEND_LIMIT_REACHED" | "RESEND_TOO_SOON" | "GUESS_BUDGET_EXHAUSTED" | "TOO_MANY_FAILED_GUESSES";

const refusalMessages: Record<SendRefusal, string> = {
  SEND_LIMIT_REACHED: "too many codes sent to this recipient by this channel",
  RESEND_TOO_SOON: "a code was sent to this recipient moments ago",
  GUESS_BUDGET_EXHAUSTED: "this recipient has used up its code attempts for now",
  TOO_MANY_FAILED_GUESSES: "too many wrong codes in a row for this recipient",
};

/** The rule each refusal is counted and logged under (see SendRefusals). */
export const refusalRules: Readonly<Record<SendRefusal, string>> = {
  SEND_LIMIT_REACHED: "send_limit",
  RESEND_TOO_SOON: "resend_too_soon",
  GUESS_BUDGET_EXHAUSTED: "guess_budget",
  TOO_MANY_FAILED_GUESSES: "guess_streak",
};

/** Send limits are the server's to enforce: the answer says when to come back. */
export class SendRefused extends DomainError {
  readonly kind = "resource_exhausted";
  override readonly metadata: Readonly<Record<string, string>>;
  constructor(readonly reason: SendRefusal, readonly retryAfterMs: number) {
    const seconds = retryAfterSeconds(retryAfterMs);
    super(`${refusalMessages[reason]}; retry in ${seconds} s`);
    this.name = "SendRefused";
    this.metadata = { retry_after_seconds: String(seconds), rule: refusalRules[reason] };
  }
}

export class IdempotencyKeyReused extends InvalidArgument {
  override readonly reason = "IDEMPOTENCY_KEY_REUSED";
  constructor() {
    super([{ field: "idempotency_key", rule: "unique", message: "was used before with a different request" }]);
    this.name = "IdempotencyKeyReused";
  }
}

export class IdempotentRequestInProgress extends DomainError {
  readonly kind = "aborted";
  readonly reason = "IDEMPOTENT_REQUEST_IN_PROGRESS";
  constructor() {
    super("a request with this idempotency_key is still running; retry shortly");
    this.name = "IdempotentRequestInProgress";
  }
}
