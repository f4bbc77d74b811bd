import { DomainError, PermissionDenied } from "../errors/domainError.js";

/**
 * Checks a CAPTCHA answer with its provider. Resolves false for an answer the provider refused;
 * rejects with CaptchaUnavailable when the provider cannot say (unreachable, misconfigured).
 * One port for every service that asks public callers for an answer.
 */
export interface CaptchaVerifier {
  verify(response: string, clientAddress: string | undefined): Promise<boolean>;
}

export class CaptchaFailed extends PermissionDenied {
  constructor() {
    super("CAPTCHA_FAILED", "the CAPTCHA answer was not accepted");
    this.name = "CaptchaFailed";
  }
}

export class CaptchaNotConfigured extends DomainError {
  readonly kind = "failed_precondition";
  readonly reason = "CAPTCHA_NOT_CONFIGURED";
  constructor() {
    super("no CAPTCHA provider is configured on this server");
    this.name = "CaptchaNotConfigured";
  }
}

export class CaptchaUnavailable extends DomainError {
  readonly kind = "unavailable";
  readonly reason = "CAPTCHA_UNAVAILABLE";
  constructor(options?: { cause?: unknown }) {
    super("the CAPTCHA provider could not be reached; retry later", options);
    this.name = "CaptchaUnavailable";
  }
}
