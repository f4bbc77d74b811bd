import { readFile } from "node:fs/promises";
import type { DeliveryConfig } from "../config/deliveryConfig.js";
import type { Logger } from "../observability/logger.js";
import type { Channel } from "./channel.js";
import { channelRegistry, type ChannelRegistry } from "./channelRegistry.js";
import { createConsoleChannel, type WriteLine } from "./console/consoleChannel.js";
import { createSmtpChannel } from "./email/smtpChannel.js";
import { createPushChannel } from "./push/pushChannel.js";
import { createTwilioChannel } from "./sms/twilioChannel.js";
import { createWebhookChannel } from "./sms/webhookChannel.js";

/**
 * Turns on the channels the deployment configured. A kind with no provider prints to the console
 * where config says so (see DeliveryConfig.consoleChannels) and is otherwise absent (sending it
 * is then refused as not configured).
 */
export async function channelsFromConfig(config: DeliveryConfig, logger: Logger, console: WriteLine): Promise<ChannelRegistry> {
  const email = config.email === undefined ? undefined : createSmtpChannel({ url: config.email.url, from: config.email.from, requireTls: config.email.requireTls });
  const sms = smsChannel(config, logger);
  const push =
    config.apns === undefined && config.fcm === undefined
      ? undefined
      : createPushChannel({
          ...(config.apns === undefined
            ? {}
            : {
                apns: {
                  keyId: config.apns.keyId,
                  teamId: config.apns.teamId,
                  topic: config.apns.topic,
                  allowedTopics: config.apns.allowedTopics,
                  privateKey: await readFile(config.apns.keyFile, "utf8"),
                  productionUrl: config.apns.productionUrl,
                  sandboxUrl: config.apns.sandboxUrl,
                },
              }),
          ...(config.fcm === undefined
            ? {}
            : { fcm: { serviceAccount: await readFile(config.fcm.serviceAccountFile, "utf8"), baseUrl: config.fcm.baseUrl } }),
        });
  const fallback = <K extends "email" | "sms" | "push">(kind: K, channel: Channel<K> | undefined): Channel<K> | undefined =>
    channel ?? (config.consoleChannels.includes(kind) ? createConsoleChannel(kind, console) : undefined);
  return channelRegistry({
    ...optional("email", fallback("email", email)),
    ...optional("sms", fallback("sms", sms)),
    ...optional("push", fallback("push", push)),
  });
}

function smsChannel(config: DeliveryConfig, logger: Logger): Channel<"sms"> | undefined {
  const sms = config.sms;
  if (sms === undefined) return undefined;
  if (sms.provider === "webhook") {
    return createWebhookChannel({
      url: sms.url,
      headers: sms.headers,
      bodyTemplate: sms.bodyTemplate,
      ...(sms.messageIdPath === undefined ? {} : { messageIdPath: sms.messageIdPath }),
      logger,
    });
  }
  const common = {
    baseUrl: sms.baseUrl,
    accountSid: sms.accountSid,
    ...(sms.apiKeySid === undefined ? {} : { authUsername: sms.apiKeySid }),
    authPassword: sms.authToken,
    logger,
  };
  return "from" in sms.sender
    ? createTwilioChannel({ ...common, from: sms.sender.from })
    : createTwilioChannel({ ...common, messagingServiceSid: sms.sender.messagingServiceSid });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
