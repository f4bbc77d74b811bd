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
