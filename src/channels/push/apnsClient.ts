import type { SecureContextOptions } from "node:tls";
import type { DeliveryOutcome } from "../channel.js";
import { checkTimeout, parseProviderUrl } from "../http/providerRequest.js";
import { createApnsProviderToken, type ApnsProviderTokenOptions } from "./apnsProviderToken.js";
import { apnsVerdict } from "./apnsReply.js";
import { untilAborted, withinDeadline } from "./deadline.js";
import { createHttp2Sessions } from "./http2Sessions.js";
import { checkPushParam } from "../../domain/destinations/pushTarget.js";

/** `apns.dev` targets the sandbox, `apns` production; one key signs for both. */
export type ApnsEnvironment = "sandbox" | "production";

export interface ApnsClientOptions extends ApnsProviderTokenOptions {
  /** The default `apns-topic`: the app's bundle id. */
  readonly topic: string;
  /** Topics a notification may name instead of the default. Default: any passing seed 003's `pn_param` rule. */
  readonly allowedTopics?: readonly string[];
  /** Default `https://api.sandbox.push.apple.com`; `http:` means h2c (local stand-ins). */
  readonly sandboxUrl?: string;
  /** Default `https://api.push.apple.com`; `http:` means h2c (local stand-ins). */
  readonly productionUrl?: string;
  /** Extra trusted CA certificates for `https:` URLs. Default: Node's bundled roots. */
  readonly ca?: SecureContextOptions["ca"];
  /** Budget for one send, provider token and retry included. Default 5000 ms. */
  readonly timeoutMs?: number;
}

export interface ApnsNotification {
  /** The device token, hex as the app received it. */
  readonly deviceToken: string;
  /** `apns-topic` for this notification. Default: the configured topic. */
  readonly topic?: string;
  readonly title: string;
  readonly body: string;
  /** Custom keys beside `aps`, delivered to the app. */
  readonly data: Readonly<Record<string, string>>;
  /** Until when APNs may hold it for an offline device. Default: deliver now or never (`apns-expiration: 0`). */
  readonly expiresAt?: Date;
}

export interface ApnsClient {
  send(environment: ApnsEnvironment, notification: ApnsNotification, signal: AbortSignal): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}

/** Apple's limit for a regular remote notification payload. */
const maxPayloadBytes = 4096;
const bundleIdPattern = /^[A-Za-z0-9.-]{1,255}$/;

/** APNs' provider API over HTTP/2 with token-based (.p8) authentication. */
export function createApnsClient(options: ApnsClientOptions): ApnsClient {
  if (!bundleIdPattern.test(options.topic)) throw new Error("apns.topic must be a bundle id");
  const origins: Record<ApnsEnvironment, URL> = {
    sandbox: parseProviderUrl(options.sandboxUrl ?? "https://api.sandbox.push.apple.com", "apns.sandboxUrl"),
    production: parseProviderUrl(options.productionUrl ?? "https://api.push.apple.com", "apns.productionUrl"),
  };
  const timeoutMs = checkTimeout(options.timeoutMs ?? 5000, "apns.timeoutMs");
  const now = options.now ?? Date.now;
  const providerToken = createApnsProviderToken(options);
  const sessions = createHttp2Sessions(options.ca === undefined ? {} : { ca: options.ca });

  const topicProblem = (topic: string): string | undefined => {
    const violation = checkPushParam(topic);
    if (violation !== undefined) return `pn_param ${violation.message}`;
    if (options.allowedTopics !== undefined && topic !== options.topic && !options.allowedTopics.includes(topic)) {
      return "pn_param names a topic this server does not send to";
    }
    return undefined;
  };

  return {
    async send(environment, notification, signal) {
      const topic = notification.topic ?? options.topic;
      const problem = notification.topic === undefined ? undefined : topicProblem(notification.topic);
      if (problem !== undefined) return { status: "rejected", reason: problem };
      if (notification.expiresAt !== undefined && notification.expiresAt.getTime() <= now()) {
        return { status: "rejected", reason: "expired before it was sent" };
      }
      const expiration = notification.expiresAt === undefined ? 0 : Math.floor(notification.expiresAt.getTime() / 1000);
      // Custom keys first, so `aps` is always ours.
      const payload = JSON.stringify({ ...notification.data, aps: { alert: { title: notification.title, body: notification.body } } });
      if (Buffer.byteLength(payload) > maxPayloadBytes) {
        return { status: "rejected", reason: `payload exceeds APNs' ${maxPayloadBytes} bytes` };
      }

      const origin = origins[environment];
      const path = `/3/device/${encodeURIComponent(notification.deviceToken)}`;
      return withinDeadline(signal, timeoutMs, async (deadline) => {
        for (let attempt = 1; ; attempt++) {
          const token = await untilAborted(providerToken.current(), deadline.signal);
          const headers = {
            authorization: `bearer ${token}`,
            "apns-topic": topic,
            "apns-push-type": "alert",
            "apns-priority": "10",
            "apns-expiration": String(expiration),
            "content-type": "application/json",
          };
          const exchange = await sessions.post(origin, path, headers, payload, deadline.signal);
          if (!exchange.answered) return deadline.expired() ?? { status: "failed", reason: `APNs ${exchange.reason}` };
          const verdict = apnsVerdict(exchange.reply, notification.topic !== undefined, now());
          if (verdict.status !== "expired-provider-token") return verdict;
          // Our token is at most 50 minutes old, so APNs and we disagree about the time: one
          // fresh token may settle it, more would trip TooManyProviderTokenUpdates.
          if (attempt >= 2) return { status: "failed", reason: "APNs 403 ExpiredProviderToken even with a fresh token (check the clock)" };
          providerToken.expire(token);
        }
      });
    },
    close: () => sessions.close(),
  };
}
