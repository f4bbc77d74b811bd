import { DomainError, InvalidArgument, PermissionDenied, type DomainErrorKind } from "../../errors/domainError.js";

/** A named failure with a fixed kind, reason and message: one line per error below. */
function named(kind: DomainErrorKind, reason: string, message: string) {
  return class extends DomainError {
    readonly kind = kind;
    readonly reason = reason;
    constructor() {
      super(message);
      this.name = reason;
    }
  };
}

export class ProfileNotFound extends named("not_found", "PROFILE_NOT_FOUND", "this user has no security profile") {}
export class KeyNotFound extends named("not_found", "KEY_NOT_FOUND", "the profile has no key of this type") {}
export class MfaEnabled extends named("failed_precondition", "MFA_ENABLED", "MFA is on for this key: disable it first") {}
export class MfaNotEnabled extends named("failed_precondition", "MFA_NOT_ENABLED", "MFA is off for this key") {}
export class LastKey extends named("failed_precondition", "LAST_KEY", "the last key of a profile cannot be removed") {}
export class EmailOnly extends named("failed_precondition", "EMAIL_ONLY", "the anti-phishing code is set through email only, and the profile needs one") {}
export class NoOtherKey extends named("failed_precondition", "NO_OTHER_KEY", "recovery needs another verified key to send the token to") {}
export class KeyAlreadyPresent extends named("failed_precondition", "KEY_ALREADY_PRESENT", "the profile already has a key of this type: change it instead") {}
export class KeyNotVerified extends named("failed_precondition", "KEY_NOT_VERIFIED", "MFA can only be turned on for a verified key") {}
export class OperationDisabled extends named("failed_precondition", "OPERATION_DISABLED", "this operation is switched off on this server") {}
export class ProfileChanged extends named("failed_precondition", "PROFILE_CHANGED", "the profile changed since the token was requested and no longer allows this") {}
export class TokenLocked extends named("failed_precondition", "TOKEN_LOCKED", "too many wrong tokens: request a new one") {}
export class TokenNotFound extends named("not_found", "TOKEN_NOT_FOUND", "token not found (unknown, expired, used, replaced, or for another operation or subject)") {}
export class FactorChangesLocked extends named(
  "failed_precondition",
  "FACTOR_CHANGES_LOCKED",
  "a change to this profile's keys was reported as not the user's: key and MFA changes are locked until a backend unlocks them",
) {}
export class SecondFactorRequired extends named(
  "failed_precondition",
  "SECOND_FACTOR_REQUIRED",
  "MFA is on for the lost key but not for the key the recovery token would go to: that token is no second factor, so the key cannot be recovered this way",
) {}
export class KeyTaken extends named("already_exists", "KEY_TAKEN", "this key belongs to another profile") {}
export class ProfileExists extends named("already_exists", "PROFILE_EXISTS", "this user already has a security profile") {}

export class WrongToken extends InvalidArgument {
  override readonly reason = "WRONG_TOKEN";
  override readonly metadata: Readonly<Record<string, string>>;
  constructor(field: string, readonly attemptsLeft: number) {
    super([{ field, rule: "match", message: `is not correct; ${attemptsLeft} attempt(s) left` }]);
    this.name = "WrongToken";
    this.metadata = { attempts_left: String(attemptsLeft) };
  }
}

export function notYourProfile(): PermissionDenied {
  return new PermissionDenied("NOT_YOUR_PROFILE", "a user may only act on its own profile");
}

export function operationNotAllowed(): PermissionDenied {
  return new PermissionDenied("OPERATION_NOT_ALLOWED", "this caller may not use tokens of this operation");
}
