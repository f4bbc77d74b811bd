import { DomainError, InvalidArgument } from "../../errors/domainError.js";

/** Unknown, expired, completed or invalidated: deliberately one answer for all four. */
export class VerificationNotFound extends DomainError {
  readonly kind = "not_found";
  readonly reason = "VERIFICATION_NOT_FOUND";
  constructor() {
    super("verification not found (unknown, expired, completed or invalidated)");
    this.name = "VerificationNotFound";
  }
}

export class WrongCode extends InvalidArgument {
  override readonly reason = "WRONG_CODE";
  override readonly metadata: Readonly<Record<string, string>>;
  constructor(readonly attemptsLeft: number) {
    super([{ field: "code", rule: "match", message: `is not correct; ${attemptsLeft} attempt(s) left` }]);
    this.name = "WrongCode";
    this.metadata = { attempts_left: String(attemptsLeft) };
  }
}

export class VerificationLocked extends DomainError {
  readonly kind = "failed_precondition";
  readonly reason = "VERIFICATION_LOCKED";
  override readonly metadata = { attempts_left: "0" };
  constructor() {
    super("too many wrong codes: this verification is locked; start a new one");
    this.name = "VerificationLocked";
  }
}

export class TotpNotEnrolled extends DomainError {
  readonly kind = "failed_precondition";
  readonly reason = "TOTP_NOT_ENROLLED";
  constructor() {
    super("the consumer has no authenticator secret; initiate a TOTP verification to enrol");
    this.name = "TotpNotEnrolled";
  }
}

export class VerificationIdTaken extends DomainError {
  readonly kind = "already_exists";
  readonly reason = "VERIFICATION_ID_TAKEN";
  constructor() {
    super("policy.forced_verification_id belongs to a live verification");
    this.name = "VerificationIdTaken";
  }
}

export type SendRefusal = "SEND_LIMIT_REACHED" | "RESEND_TOO_SOON" | "GUESS_BUDGET_EXHAUSTED";

const refusalMessages: Record<SendRefusal, string> = {
  SEND_LIMIT_REACHED: "too many codes sent to this consumer by this method",
  RESEND_TOO_SOON: "a code was sent to this consumer moments ago",
  GUESS_BUDGET_EXHAUSTED: "this consumer has used up its code attempts for now",
};

/** Send limits are the server's to enforce: the answer says when to come back. */
export class SendRefused extends DomainError {
  readonly kind = "resource_exhausted";
  override readonly metadata: Readonly<Record<string, string>>;
  constructor(readonly reason: SendRefusal, readonly retryAfterMs: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(`${refusalMessages[reason]}; retry in ${seconds} s`);
    this.name = "SendRefused";
    this.metadata = { retry_after_seconds: String(seconds) };
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
