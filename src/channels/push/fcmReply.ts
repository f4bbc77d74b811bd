import type { DeliveryOutcome } from "../channel.js";
import { parseJson, parseRetryAfter, type ProviderAnswer } from "../http/providerRequest.js";

/** What an FCM answer means for the send, plus whether a fresh access token may fix it. */
export type FcmVerdict = DeliveryOutcome | { readonly status: "unauthenticated" };

/** The registration token is at fault (gone, malformed, another project's): final. */
const targetErrors = new Set(["UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH"]);
const transientStatuses = new Set([429, 500, 502, 503, 504]);

/**
 * Maps an FCM HTTP v1 answer to an outcome, after Google's `ErrorCode` table. Only the error's
 * enums are repeated (never its free-text message, which can quote the request).
 */
export function fcmVerdict(answer: ProviderAnswer, now: number): FcmVerdict {
  const json = parseJson(answer.body);
  if (answer.status === 200) {
    const name = field(json, "name");
    return typeof name === "string" ? { status: "accepted", providerMessageId: name } : { status: "accepted" };
  }
  const errorCode = fcmErrorCode(json);
  const status = enumText(field(field(json, "error"), "status"));
  const label = `FCM ${answer.status} ${errorCode ?? status ?? "(no error code)"}`;
  // THIRD_PARTY_AUTH_ERROR is the APNs credential stored in Firebase, not our token.
  if (answer.status === 401 && errorCode !== "THIRD_PARTY_AUTH_ERROR") return { status: "unauthenticated" };
  if (answer.status === 404 || (errorCode !== undefined && targetErrors.has(errorCode)) || (answer.status === 400 && status === "INVALID_ARGUMENT")) {
    return { status: "rejected", reason: label };
  }
  const retryAfterMs = parseRetryAfter(answer.headers.get("retry-after"), now);
  const reason = transientStatuses.has(answer.status) ? label : `${label} (check the FCM configuration)`;
  return retryAfterMs === undefined ? { status: "failed", reason } : { status: "failed", reason, retryAfterMs };
}

/** `error.details[]` holds a `google.firebase.fcm.v1.FcmError` with the FCM-specific code. */
function fcmErrorCode(json: unknown): string | undefined {
  const details = field(field(json, "error"), "details");
  if (!Array.isArray(details)) return undefined;
  for (const detail of details as unknown[]) {
    const type = field(detail, "@type");
    if (typeof type === "string" && type.endsWith("google.firebase.fcm.v1.FcmError")) return enumText(field(detail, "errorCode"));
  }
  return undefined;
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null && Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
}

function enumText(value: unknown): string | undefined {
  return typeof value === "string" && /^[A-Z_]{1,64}$/.test(value) ? value : undefined;
}
