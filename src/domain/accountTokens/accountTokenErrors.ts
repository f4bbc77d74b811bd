import { DomainError, PermissionDenied } from "../../errors/domainError.js";

/** Unknown, expired, used or revoked: deliberately one answer for all (seed 003's 404). */
export class AccountTokenNotFound extends DomainError {
  readonly kind = "not_found";
  readonly reason = "ACCOUNT_TOKEN_NOT_FOUND";
  constructor() {
    super("token not found (unknown, expired, used or revoked)");
    this.name = "AccountTokenNotFound";
  }
}

export class RequestTokenNotValidated extends DomainError {
  readonly kind = "failed_precondition";
  readonly reason = "REQUEST_TOKEN_NOT_VALIDATED";
  constructor() {
    super("the account creation request token has not passed its CAPTCHA yet (ValidateAccountCreationRequestToken)");
    this.name = "RequestTokenNotValidated";
  }
}

/** Seed 003's 403: a token sent to this device is still valid. */
export class TokenAlreadySent extends PermissionDenied {
  constructor() {
    super("TOKEN_ALREADY_SENT", "a token sent to this device is still valid");
    this.name = "TokenAlreadySent";
  }
}

/** Seed 003's 403: the device had its tokens for this window. */
export class DeviceLimitReached extends PermissionDenied {
  constructor() {
    super("DEVICE_LIMIT_REACHED", "this device has been sent as many tokens as allowed for now");
    this.name = "DeviceLimitReached";
  }
}

/** Seed 003's 503: the push did not go out, and the token made for it was revoked. */
export class PushFailed extends DomainError {
  readonly kind = "unavailable";
  readonly reason = "PUSH_FAILED";
  constructor() {
    super("the push notification could not be sent; retry later");
    this.name = "PushFailed";
  }
}
