import { CaptchaUnavailable, type CaptchaVerifier } from "../domain/captcha.js";
import type { CaptchaExpectations } from "../config/accountTokenConfig.js";
import type { Logger } from "../observability/logger.js";

export interface SiteverifyOptions {
  /** The provider's siteverify endpoint (hCaptcha, reCAPTCHA and Turnstile share the shape). */
  readonly verifyUrl: string;
  readonly secret: string;
  /** Deadline of one check. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** What a successful answer must also say (host, action, score); default nothing more. */
  readonly expect?: CaptchaExpectations;
  readonly logger: Logger;
}

interface SiteverifyAnswer {
  readonly success?: unknown;
  readonly "error-codes"?: unknown;
  /** The site's host the CAPTCHA was solved on (all three providers). */
  readonly hostname?: unknown;
  /** reCAPTCHA v3 and Turnstile: the action the page named. */
  readonly action?: unknown;
  /** reCAPTCHA v3 (and hCaptcha Enterprise): 1.0 likely human, 0.0 likely a bot. */
  readonly score?: unknown;
}

/** Which expectation a successful answer fails, if any. */
function unexpected(answer: SiteverifyAnswer, expect: CaptchaExpectations | undefined): string | undefined {
  if (expect === undefined) return undefined;
  const hostname = typeof answer.hostname === "string" ? answer.hostname.toLowerCase() : undefined;
  if (expect.hostnames.length > 0 && (hostname === undefined || !expect.hostnames.includes(hostname))) return `hostname ${hostname ?? "(none)"} is not in CAPTCHA_HOSTNAMES`;
  if (expect.action !== undefined && answer.action !== expect.action) return `action ${typeof answer.action === "string" ? answer.action : "(none)"} is not CAPTCHA_ACTION`;
  if (expect.minScore !== undefined && !(typeof answer.score === "number" && answer.score >= expect.minScore)) {
    return `score ${typeof answer.score === "number" ? answer.score : "(none)"} is below CAPTCHA_MIN_SCORE`;
  }
  return undefined;
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
      let answer: SiteverifyAnswer;
      try {
        const reply = await fetch(options.verifyUrl, { method: "POST", body: form, signal: AbortSignal.timeout(timeoutMs) });
        if (!reply.ok) throw new Error(`siteverify answered HTTP ${reply.status}`);
        answer = (await reply.json()) as typeof answer;
      } catch (error) {
        throw new CaptchaUnavailable({ cause: error });
      }
      if (answer.success === true) {
        const mismatch = unexpected(answer, options.expect);
        // A real answer, solved elsewhere or by a likely bot: refused like a wrong one, and said
        // in the log (without the answer) so a misconfigured host list shows up.
        if (mismatch !== undefined) options.logger.warn({ mismatch }, "CAPTCHA answer refused: it was solved for something else");
        return mismatch === undefined;
      }
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
