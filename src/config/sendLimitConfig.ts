import type { SendLimit } from "../domain/secrets/sendLimits.js";
import type { Parsed } from "./config.js";

/** The send limit of codes one service sends, from its four `<PREFIX>_…` variables. */
export function sendLimitConfig(v: Parsed, prefix: "VERIFICATION" | "TOKEN"): SendLimit {
  return {
    limit: v[`${prefix}_SEND_LIMIT`]!,
    windowMs: v[`${prefix}_SEND_WINDOW_SECONDS`]! * 1000,
    firstResendDelayMs: v[`${prefix}_RESEND_DELAY_SECONDS`]! * 1000,
    maxResendDelayMs: v[`${prefix}_MAX_RESEND_DELAY_SECONDS`]! * 1000,
  };
}
