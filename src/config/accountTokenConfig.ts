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
   * The CAPTCHA provider request tokens are validated with; `development` (the embedded backends'
   * default, or CAPTCHA_PROVIDER=development; never in production) accepts the answer
   * `dev-captcha-ok` without asking anyone; absent: validation is refused.
   */
  readonly captcha?: { readonly provider: CaptchaProvider; readonly secret: string; readonly verifyUrl: string; readonly expect: CaptchaExpectations } | { readonly provider: "development" };
}

/** What a successful answer must also say; each unset one is not checked. */
export interface CaptchaExpectations {
  /** Hosts the CAPTCHA may have been solved on (lowercase); empty: any. */
  readonly hostnames: readonly string[];
  readonly action?: string;
  readonly minScore?: number;
}

/** The account token section; every missing piece is a problem. */
export function accountTokenConfig(v: Parsed, production: boolean, embedded: boolean, problems: string[]): AccountTokenConfig {
  let captcha: AccountTokenConfig["captcha"];
  if (v.CAPTCHA_PROVIDER !== undefined && v.CAPTCHA_PROVIDER !== "development") {
    if (v.CAPTCHA_SECRET === undefined) problems.push("CAPTCHA_SECRET: required with CAPTCHA_PROVIDER");
    else {
      const expect: CaptchaExpectations = {
        hostnames: (v.CAPTCHA_HOSTNAMES ?? []).map((host) => host.toLowerCase()),
        ...(v.CAPTCHA_ACTION === undefined ? {} : { action: v.CAPTCHA_ACTION }),
        ...(v.CAPTCHA_MIN_SCORE === undefined ? {} : { minScore: v.CAPTCHA_MIN_SCORE }),
      };
      // A check on a field the provider never sends would refuse every answer: every sign-up.
      if (expect.action !== undefined && v.CAPTCHA_PROVIDER === "hcaptcha") problems.push("CAPTCHA_ACTION: hCaptcha's answers carry no action; unset it");
      if (expect.minScore !== undefined && v.CAPTCHA_PROVIDER === "turnstile") problems.push("CAPTCHA_MIN_SCORE: Turnstile's answers carry no score; unset it");
      captcha = { provider: v.CAPTCHA_PROVIDER, secret: v.CAPTCHA_SECRET, verifyUrl: v.CAPTCHA_VERIFY_URL ?? captchaVerifyUrls[v.CAPTCHA_PROVIDER], expect };
    }
  } else {
    for (const name of ["CAPTCHA_ACTION", "CAPTCHA_MIN_SCORE"] as const) {
      if (v[name] !== undefined) problems.push(`${name}: checks a provider's answer; set CAPTCHA_PROVIDER too`);
    }
    if ((v.CAPTCHA_HOSTNAMES ?? []).length > 0) problems.push("CAPTCHA_HOSTNAMES: checks a provider's answer; set CAPTCHA_PROVIDER too");
    const named = v.CAPTCHA_PROVIDER === "development";
    if (named && production) problems.push("CAPTCHA_PROVIDER: development accepts dev-captcha-ok from anyone; not with NODE_ENV=production");
    // Anyone can send the development answer: a deployment on real stores gets it only by name.
    if (!production && (named || embedded)) captcha = { provider: "development" };
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
