import type { Channel, DeliveryOutcome } from "../channel.js";
import type { PushMessage } from "../../domain/messages/outboundMessage.js";
import { createApnsClient, type ApnsClient, type ApnsClientOptions } from "./apnsClient.js";
import { createFcmClient, type FcmClient, type FcmClientOptions } from "./fcmClient.js";
import { checkPushTarget } from "../../domain/destinations/pushTarget.js";

export interface PushChannelOptions {
  /** APNs credentials and hosts, for `apns.dev` (sandbox) and `apns` (production). Default: off. */
  readonly apns?: ApnsClientOptions;
  /** FCM service account, for `fcm`. Default: off. */
  readonly fcm?: FcmClientOptions;
  /** Budget for one send when a provider's options do not set their own. Default 5000 ms. */
  readonly timeoutMs?: number;
}

/**
 * Seed 003's push delivery: routes each message to APNs (sandbox or production) or FCM by its
 * target's provider. A provider left unconfigured answers `rejected`, so a deployment without,
 * say, Android users refuses those devices plainly instead of retrying forever.
 */
export function createPushChannel(options: PushChannelOptions): Channel<"push"> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const apns: ApnsClient | undefined = options.apns === undefined ? undefined : createApnsClient({ timeoutMs, ...options.apns });
  const fcm: FcmClient | undefined = options.fcm === undefined ? undefined : createFcmClient({ timeoutMs, ...options.fcm });
  const provider = [apns === undefined ? undefined : "apns", fcm === undefined ? undefined : "fcm"].filter((name) => name !== undefined).join("+") || "none";

  return {
    kind: "push",
    provider,
    async send(message: PushMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
      const violations = checkPushTarget(message.to);
      if (violations.length > 0) {
        return { status: "rejected", reason: violations.map((violation) => `${violation.field} ${violation.message}`).join("; ") };
      }
      const { title, body, data } = message;
      const target = message.to;
      switch (target.provider) {
        case "apns.dev":
        case "apns": {
          if (apns === undefined) return notConfigured(target.provider);
          const environment = target.provider === "apns" ? "production" : "sandbox";
          const topic = target.param === undefined ? {} : { topic: target.param };
          return apns.send(environment, { deviceToken: target.deviceToken, ...topic, title, body, data }, signal);
        }
        case "fcm":
          // pn_param carries no meaning for FCM: the project comes from the service account.
          if (fcm === undefined) return notConfigured(target.provider);
          return fcm.send({ deviceToken: target.deviceToken, title, body, data }, signal);
      }
    },
    async close() {
      await Promise.all([apns?.close(), fcm?.close()]);
    },
  };
}

function notConfigured(provider: string): DeliveryOutcome {
  return { status: "rejected", reason: `push provider ${provider} is not configured on this server` };
}
