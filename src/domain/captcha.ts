import { DomainError, InvalidArgument, PermissionDenied } from "../errors/domainError.js";

/**
 * Checks a CAPTCHA answer with its provider. Resolves false for an answer the provider refused;
 * rejects with CaptchaUnavailable when the provider cannot say (unreachable, misconfigured).
 * One port for every service that asks public callers for an answer.
 */
export interface CaptchaVerifier {
  verify(response: string, clientAddress: string | undefined): Promise<boolean>;
}

/** A caller who must solve a CAPTCHA sent no answer: names the field the answer goes in. */
export class CaptchaRequired extends InvalidArgument {
  override readonly reason = "CAPTCHA_REQUIRED";
  constructor(field: string) {
    super([{ field, rule: "required", message: "is required: this server asks public callers for a CAPTCHA answer" }]);
    this.name = "CaptchaRequired";
  }
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
