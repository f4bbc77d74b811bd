import type { AccountTokenKind } from "../domain/accountTokens/accountToken.js";
import type { DeviceLimit } from "../domain/accountTokens/accountTokenStore.js";
import type { ClientLimit } from "../domain/clientLimits.js";
import type { Parsed } from "./config.js";

export type CaptchaProvider = "hcaptcha" | "recaptcha" | "turnstile";

/** The siteverify endpoint of each provider; all three take the same form and answer `{ success }`. */
export const captchaVerifyUrls: Record<CaptchaProvider, string> = {
  hcaptcha: "https://api.hcaptcha.com/siteverify",
  recaptcha: "https://www.google.com/recaptcha/api/siteverify",
  turnstile: "https://challenges.cloudflare.com/turnstile/v0/siteverify",
};

export interface AccountTokenConfig {
  /** How long each kind of token works. */
  readonly ttlMs: Readonly<Record<AccountTokenKind, number>>;
  readonly device: DeviceLimit;
  readonly client: ClientLimit;
  /**
   * The CAPTCHA provider request tokens are validated with; `development` (never in production)
   * accepts the answer `dev-captcha-ok` without asking anyone; absent: validation is refused.
   */
  readonly captcha?: { readonly provider: CaptchaProvider; readonly secret: string; readonly verifyUrl: string } | { readonly provider: "development" };
}

/** The account token section; every missing piece is a problem. */
export function accountTokenConfig(v: Parsed, production: boolean, problems: string[]): AccountTokenConfig {
  let captcha: AccountTokenConfig["captcha"];
  if (v.CAPTCHA_PROVIDER !== undefined) {
    if (v.CAPTCHA_SECRET === undefined) problems.push("CAPTCHA_SECRET: required with CAPTCHA_PROVIDER");
    else captcha = { provider: v.CAPTCHA_PROVIDER, secret: v.CAPTCHA_SECRET, verifyUrl: v.CAPTCHA_VERIFY_URL ?? captchaVerifyUrls[v.CAPTCHA_PROVIDER] };
  } else if (!production) {
    captcha = { provider: "development" };
  }
  return {
    ttlMs: {
      account_creation_request: v.ACCOUNT_CREATION_REQUEST_TOKEN_TTL_SECONDS! * 1000,
      account_creation: v.ACCOUNT_CREATION_TOKEN_TTL_SECONDS! * 1000,
      account_recovery: v.ACCOUNT_RECOVERY_TOKEN_TTL_SECONDS! * 1000,
      auth: v.AUTH_TOKEN_TTL_SECONDS! * 1000,
    },
    device: { count: v.ACCOUNT_TOKEN_DEVICE_LIMIT!, windowMs: v.ACCOUNT_TOKEN_DEVICE_WINDOW_SECONDS! * 1000 },
    client: { count: v.ACCOUNT_TOKEN_CLIENT_LIMIT!, windowMs: v.ACCOUNT_TOKEN_CLIENT_WINDOW_SECONDS! * 1000 },
    ...(captcha === undefined ? {} : { captcha }),
  };
}
