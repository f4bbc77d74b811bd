import type { DeliveryOutcome } from "../channel.js";
import { checkTimeout, exchangeWithProvider, parseProviderUrl } from "../http/providerRequest.js";
import { untilAborted, withinDeadline } from "./deadline.js";
import { fcmVerdict } from "./fcmReply.js";
import { createGoogleAccessToken, parseServiceAccount, type ServiceAccountKey } from "./googleAccessToken.js";

export interface FcmClientOptions {
  /** The service account key file's text, or its parsed contents. */
  readonly serviceAccount: string | ServiceAccountKey;
  /** The Firebase project to send as. Default: the key file's `project_id`. */
  readonly projectId?: string;
  /** Default `https://fcm.googleapis.com`. */
  readonly baseUrl?: string;
  /** Where access tokens come from. Default: the key file's `token_uri`. */
  readonly tokenUri?: string;
  /** Budget for one send, access token and retry included. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Clock in epoch milliseconds, for token lifetimes. Default `Date.now`. */
  readonly now?: () => number;
}

export interface FcmNotification {
  /** The app instance's registration token. */
  readonly deviceToken: string;
  readonly title: string;
  readonly body: string;
  /** Delivered to the app in `data`. */
  readonly data: Readonly<Record<string, string>>;
  /** Until when FCM may hold it for an offline device. Default: FCM's own (four weeks). */
  readonly expiresAt?: Date;
}

export interface FcmClient {
  send(notification: FcmNotification, signal: AbortSignal): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}

/** Firebase Cloud Messaging HTTP v1 (`projects/{id}/messages:send`) with a service account. */
export function createFcmClient(options: FcmClientOptions): FcmClient {
  const account = parseServiceAccount(options.serviceAccount);
  const projectId = options.projectId ?? account.project_id;
  const baseUrl = parseProviderUrl(options.baseUrl ?? "https://fcm.googleapis.com", "fcm.baseUrl");
  const sendUrl = new URL(`v1/projects/${encodeURIComponent(projectId)}/messages:send`, withTrailingSlash(baseUrl));
  const timeoutMs = checkTimeout(options.timeoutMs ?? 5000, "fcm.timeoutMs");
  const now = options.now ?? Date.now;
  const accessToken = createGoogleAccessToken({
    serviceAccount: account,
    timeoutMs,
    ...(options.tokenUri === undefined ? {} : { tokenUri: options.tokenUri }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });

  return {
    async send(notification, signal) {
      let ttlSeconds: number | undefined;
      if (notification.expiresAt !== undefined) {
        ttlSeconds = Math.ceil((notification.expiresAt.getTime() - now()) / 1000);
        if (ttlSeconds <= 0) return { status: "rejected", reason: "expired before it was sent" };
      }
      const body = JSON.stringify({ message: fcmMessage(notification, ttlSeconds) });
      return withinDeadline(signal, timeoutMs, async (deadline) => {
        for (let attempt = 1; ; attempt++) {
          const access = await untilAborted(accessToken.current(), deadline.signal);
          if (!access.ok) return deadline.expired() ?? { status: "failed", reason: access.reason };
          const headers = new Headers({ authorization: `Bearer ${access.token}`, "content-type": "application/json; charset=utf-8" });
          // The deadline's signal ends the request in time; timeoutMs is only the backstop.
          const exchange = await exchangeWithProvider(sendUrl, { method: "POST", headers, body }, deadline.signal, timeoutMs);
          if (!exchange.answered) return deadline.expired() ?? { status: "failed", reason: `FCM ${exchange.outcome.reason}` };
          const verdict = fcmVerdict(exchange.answer, now());
          if (verdict.status !== "unauthenticated") return verdict;
          if (attempt >= 2) return { status: "failed", reason: "FCM 401 even with a fresh access token (check the service account)" };
          accessToken.expire(access.token);
        }
      });
    },
    // fetch pools its connections process-wide; there is nothing of ours to release.
    close: () => Promise.resolve(),
  };
}

function fcmMessage(notification: FcmNotification, ttlSeconds: number | undefined): Record<string, unknown> {
  const apnsHeaders: Record<string, string> = { "apns-priority": "10", "apns-push-type": "alert" };
  if (notification.expiresAt !== undefined) apnsHeaders["apns-expiration"] = String(Math.floor(notification.expiresAt.getTime() / 1000));
  return {
    token: notification.deviceToken,
    notification: { title: notification.title, body: notification.body },
    ...(Object.keys(notification.data).length > 0 ? { data: notification.data } : {}),
    // High priority wakes the device now: the user is waiting for this token.
    android: ttlSeconds === undefined ? { priority: "high" } : { priority: "high", ttl: `${ttlSeconds}s` },
    apns: { headers: apnsHeaders },
  };
}

/** `new URL("v1/…", base)` drops the base's last path segment unless it ends with a slash. */
function withTrailingSlash(url: URL): URL {
  return url.pathname.endsWith("/") ? url : new URL(`${url.href}/`);
}
