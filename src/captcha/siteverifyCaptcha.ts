import { CaptchaUnavailable } from "../domain/accountTokens/accountTokenErrors.js";
import type { CaptchaVerifier } from "../domain/accountTokens/captcha.js";
import type { Logger } from "../observability/logger.js";

export interface SiteverifyOptions {
  /** The provider's siteverify endpoint (hCaptcha, reCAPTCHA and Turnstile share the shape). */
  readonly verifyUrl: string;
  readonly secret: string;
  /** Deadline of one check. Default 5000 ms. */
  readonly timeoutMs?: number;
  readonly logger: Logger;
}

/** Error codes that mean this server is misconfigured, not that the answer was wrong. */
const ourFault = new Set(["missing-input-secret", "invalid-input-secret", "sitekey-secret-mismatch", "invalid-or-already-seen-secret"]);

/**
 * The `siteverify` call hCaptcha, reCAPTCHA and Cloudflare Turnstile all answer: a form POST of
 * `secret`, `response` and `remoteip`, answered `{ "success": bool, "error-codes": [...] }`.
 * A provider that cannot be asked, or that says our secret is wrong, is `unavailable`: the user's
 * answer was not judged, and must not be reported as refused.
 */
export function siteverifyCaptcha(options: SiteverifyOptions): CaptchaVerifier {
  const timeoutMs = options.timeoutMs ?? 5000;
  return {
    async verify(response, clientAddress) {
      const form = new URLSearchParams({ secret: options.secret, response });
      if (clientAddress !== undefined && clientAddress !== "unknown") form.set("remoteip", clientAddress);
      let answer: { success?: unknown; "error-codes"?: unknown };
      try {
        const reply = await fetch(options.verifyUrl, { method: "POST", body: form, signal: AbortSignal.timeout(timeoutMs) });
        if (!reply.ok) throw new Error(`siteverify answered HTTP ${reply.status}`);
        answer = (await reply.json()) as typeof answer;
      } catch (error) {
        throw new CaptchaUnavailable({ cause: error });
      }
      if (answer.success === true) return true;
      const codes = Array.isArray(answer["error-codes"]) ? answer["error-codes"].map(String) : [];
      if (codes.some((code) => ourFault.has(code))) {
        options.logger.error({ errorCodes: codes }, "the CAPTCHA provider refused our secret");
        throw new CaptchaUnavailable();
      }
      return false;
    },
  };
}

/** Development without a provider: the answer `dev-captcha-ok` passes, anything else fails. */
export const developmentCaptchaAnswer = "dev-captcha-ok";

export const developmentCaptcha: CaptchaVerifier = {
  async verify(response) {
    return response === developmentCaptchaAnswer;
  },
};
