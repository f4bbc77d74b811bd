import type { DeliveryOutcome } from "../channel.js";
import { parseJson, parseRetryAfter } from "../http/providerRequest.js";
import type { Http2Reply } from "./http2Sessions.js";

/** What an APNs answer means for the send, plus whether a fresh provider token may fix it. */
export type ApnsVerdict = DeliveryOutcome | { readonly status: "expired-provider-token" };

/** The device or its token is at fault: no retry can deliver to it. */
const deviceReasons = new Set(["BadDeviceToken", "DeviceTokenNotForTopic", "MissingDeviceToken", "Unregistered", "ExpiredToken"]);
/** The topic is wrong; final when the caller picked it, our configuration when it is the default. */
const topicReasons = new Set(["BadTopic", "TopicDisallowed"]);

/**
 * Maps an APNs answer (status, `apns-id`, `{"reason": …}`) to an outcome, following Apple's
 * "Handling notification responses from APNs". Final outcomes are the ones about the device or the
 * payload; everything about our credentials or APNs' health is `failed`, so the outbox retries once
 * an operator has fixed the configuration or APNs has recovered.
 */
export function apnsVerdict(reply: Http2Reply, topicFromTarget: boolean, now: number): ApnsVerdict {
  const apnsId = headerText(reply.headers["apns-id"]);
  if (reply.status === 200) return apnsId === undefined ? { status: "accepted" } : { status: "accepted", providerMessageId: apnsId };

  const reason = apnsReason(reply.body);
  const label = `APNs ${reply.status} ${reason ?? "(no reason)"}`;
  if (reply.status === 403 && reason === "ExpiredProviderToken") return { status: "expired-provider-token" };
  if (reason !== undefined && deviceReasons.has(reason)) return { status: "rejected", reason: label };
  if (reply.status === 410) return { status: "rejected", reason: label };
  if (reply.status === 413) return { status: "rejected", reason: label };
  if (reason !== undefined && topicReasons.has(reason) && topicFromTarget) return { status: "rejected", reason: label };

  const retryAfterMs = parseRetryAfter(headerText(reply.headers["retry-after"]) ?? null, now);
  const configuration = reply.status === 403 || (reason !== undefined && topicReasons.has(reason));
  const failed = configuration ? `${label} (check the APNs configuration)` : label;
  return retryAfterMs === undefined ? { status: "failed", reason: failed } : { status: "failed", reason: failed, retryAfterMs };
}

/** Apple's reasons are single words; anything else (an HTML error page) is not repeated. */
function apnsReason(body: string): string | undefined {
  const parsed = parseJson(body);
  if (typeof parsed !== "object" || parsed === null || !("reason" in parsed)) return undefined;
  const { reason } = parsed;
  return typeof reason === "string" && /^[A-Za-z]{1,64}$/.test(reason) ? reason : undefined;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
