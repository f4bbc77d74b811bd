import type { MessageKind } from "../domain/messages/outboundMessage.js";
import type { Parsed } from "./config.js";

export type SmsProviderConfig =
  | {
      readonly provider: "twilio";
      readonly baseUrl: string;
      readonly accountSid: string;
      readonly apiKeySid?: string;
      readonly authToken: string;
      readonly sender: { readonly from: string } | { readonly messagingServiceSid: string };
    }
  | {
      readonly provider: "webhook";
      readonly url: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly bodyTemplate: string;
      readonly messageIdPath?: string;
    };

export interface DeliveryConfig {
  readonly email?: { readonly url: string; readonly from: string; readonly requireTls: boolean };
  readonly sms?: SmsProviderConfig;
  readonly apns?: {
    readonly keyFile: string;
    readonly keyId: string;
    readonly teamId: string;
    readonly topic: string;
    /** Topics besides `topic` a device's pn_param may name. */
    readonly allowedTopics: readonly string[];
    readonly productionUrl: string;
    readonly sandboxUrl: string;
  };
  readonly fcm?: { readonly serviceAccountFile: string; readonly baseUrl: string };
  /**
   * Kinds that print to the console instead of going out: every kind without a provider on the
   * embedded backends, only those CONSOLE_CHANNELS names on real stores, never in production.
   */
  readonly consoleChannels: readonly MessageKind[];
  /** ENCRYPTION_KEYS as given, or undefined for a generated development key. */
  readonly encryptionKeys?: string;
  /** HMAC_KEY as given (base64); undefined derives it from the first encryption key. */
  readonly hmacKey?: string;
  readonly templates: { readonly productName: string; readonly defaultLocale: string; readonly overridesDir?: string };
  readonly outbox: { readonly maxAttempts: number; readonly batchSize: number; readonly pollIntervalMs: number };
  readonly sendTimeoutMs: number;
}

/** The delivery section: which channels are on and with what; every missing piece is a problem. */
export function deliveryConfig(v: Parsed, production: boolean, embedded: boolean, problems: string[]): DeliveryConfig {
  const requireAll = (group: string, names: Partial<Record<string, unknown>>): boolean => {
    const missing = Object.entries(names).filter(([, value]) => value === undefined).map(([name]) => name);
    if (missing.length > 0) problems.push(`${missing.join(", ")}: required with ${group}`);
    return missing.length === 0;
  };

  if (v.ENCRYPTION_KEYS === undefined && (production || !embedded)) {
    problems.push("ENCRYPTION_KEYS: required with DATABASE_URL, REDIS_URL or NODE_ENV=production (a generated key is only for the embedded defaults)");
  }
  if (v.HMAC_KEY === undefined && production) {
    // Without it the keyed hashes derive from the first encryption key, and rotating that key
    // would orphan every TOTP enrolment (the start would then be refused): with its own key,
    // ENCRYPTION_KEYS rotates safely by construction.
    problems.push(
      "HMAC_KEY: required when NODE_ENV=production (so ENCRYPTION_KEYS can rotate; upgrading, set it to the base64 of the current first ENCRYPTION_KEYS key)",
    );
  }

  let email: DeliveryConfig["email"];
  if (v.SMTP_URL !== undefined && requireAll("SMTP_URL", { SMTP_FROM: v.SMTP_FROM })) {
    email = { url: v.SMTP_URL, from: v.SMTP_FROM!, requireTls: v.SMTP_REQUIRE_TLS ?? false };
  }

  let sms: SmsProviderConfig | undefined;
  if (v.SMS_PROVIDER === "twilio" && requireAll("SMS_PROVIDER=twilio", { TWILIO_ACCOUNT_SID: v.TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN: v.TWILIO_AUTH_TOKEN })) {
    const sender =
      v.TWILIO_MESSAGING_SERVICE_SID !== undefined
        ? { messagingServiceSid: v.TWILIO_MESSAGING_SERVICE_SID }
        : v.TWILIO_FROM !== undefined
          ? { from: v.TWILIO_FROM }
          : undefined;
    if (sender === undefined) problems.push("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID: required with SMS_PROVIDER=twilio");
    else {
      sms = {
        provider: "twilio",
        baseUrl: v.TWILIO_BASE_URL!,
        accountSid: v.TWILIO_ACCOUNT_SID!,
        ...(v.TWILIO_API_KEY_SID === undefined ? {} : { apiKeySid: v.TWILIO_API_KEY_SID }),
        authToken: v.TWILIO_AUTH_TOKEN!,
        sender,
      };
    }
  }
  if (v.SMS_PROVIDER === "webhook" && requireAll("SMS_PROVIDER=webhook", { SMS_WEBHOOK_URL: v.SMS_WEBHOOK_URL, SMS_WEBHOOK_BODY_TEMPLATE: v.SMS_WEBHOOK_BODY_TEMPLATE })) {
    sms = {
      provider: "webhook",
      url: v.SMS_WEBHOOK_URL!,
      headers: v.SMS_WEBHOOK_HEADERS ?? {},
      bodyTemplate: v.SMS_WEBHOOK_BODY_TEMPLATE!,
      ...(v.SMS_WEBHOOK_MESSAGE_ID_PATH === undefined ? {} : { messageIdPath: v.SMS_WEBHOOK_MESSAGE_ID_PATH }),
    };
  }

  let apns: DeliveryConfig["apns"];
  if (
    v.APNS_KEY_FILE !== undefined &&
    requireAll("APNS_KEY_FILE", { APNS_KEY_ID: v.APNS_KEY_ID, APNS_TEAM_ID: v.APNS_TEAM_ID, APNS_TOPIC: v.APNS_TOPIC, APNS_ALLOWED_TOPICS: v.APNS_ALLOWED_TOPICS })
  ) {
    apns = {
      keyFile: v.APNS_KEY_FILE,
      keyId: v.APNS_KEY_ID!,
      teamId: v.APNS_TEAM_ID!,
      topic: v.APNS_TOPIC!,
      allowedTopics: v.APNS_ALLOWED_TOPICS!,
      productionUrl: v.APNS_PRODUCTION_URL!,
      sandboxUrl: v.APNS_SANDBOX_URL!,
    };
  }
  if (v.APNS_ALLOWED_TOPICS !== undefined && v.APNS_KEY_FILE === undefined) problems.push("APNS_ALLOWED_TOPICS: lists topics for APNs; set APNS_KEY_FILE too");
  const fcm = v.FCM_SERVICE_ACCOUNT_FILE === undefined ? undefined : { serviceAccountFile: v.FCM_SERVICE_ACCOUNT_FILE, baseUrl: v.FCM_BASE_URL! };
  const consoleChannels = channelChoices(
    {
      email: { configured: v.SMTP_URL !== undefined, variable: "SMTP_URL" },
      sms: { configured: v.SMS_PROVIDER !== undefined, variable: "SMS_PROVIDER" },
      push: { configured: v.APNS_KEY_FILE !== undefined || v.FCM_SERVICE_ACCOUNT_FILE !== undefined, variable: "APNS_KEY_FILE or FCM_SERVICE_ACCOUNT_FILE" },
    },
    { console: v.CONSOLE_CHANNELS ?? [], disabled: v.DISABLED_CHANNELS ?? [] },
    production,
    embedded,
    problems,
  );

  return {
    ...(email === undefined ? {} : { email }),
    ...(sms === undefined ? {} : { sms }),
    ...(apns === undefined ? {} : { apns }),
    ...(fcm === undefined ? {} : { fcm }),
    consoleChannels,
    ...(v.ENCRYPTION_KEYS === undefined ? {} : { encryptionKeys: v.ENCRYPTION_KEYS }),
    ...(v.HMAC_KEY === undefined ? {} : { hmacKey: v.HMAC_KEY }),
    templates: {
      productName: v.PRODUCT_NAME!,
      defaultLocale: v.DEFAULT_LOCALE!,
      ...(v.TEMPLATES_DIR === undefined ? {} : { overridesDir: v.TEMPLATES_DIR }),
    },
    outbox: {
      maxAttempts: v.OUTBOX_MAX_ATTEMPTS!,
      batchSize: v.OUTBOX_BATCH_SIZE!,
      pollIntervalMs: v.OUTBOX_POLL_INTERVAL_MS!,
    },
    sendTimeoutMs: v.DELIVERY_TIMEOUT_MS!,
  };
}

/**
 * Which kinds print to the console. The console channel prints whole messages, codes included,
 * so it is a development convenience: the embedded backends (a developer's machine) fall back to
 * it, while a deployment on real stores says for every kind what it sends with, prints, or lacks.
 */
function channelChoices(
  providers: Record<MessageKind, { readonly configured: boolean; readonly variable: string }>,
  named: { readonly console: readonly MessageKind[]; readonly disabled: readonly MessageKind[] },
  production: boolean,
  embedded: boolean,
  problems: string[],
): MessageKind[] {
  if (production && named.console.length > 0) {
    problems.push("CONSOLE_CHANNELS: prints whole messages, codes included, to stderr; not with NODE_ENV=production");
  }
  const printed: MessageKind[] = [];
  for (const kind of Object.keys(providers) as MessageKind[]) {
    const { configured, variable } = providers[kind];
    const toConsole = named.console.includes(kind);
    const disabled = named.disabled.includes(kind);
    if (toConsole && disabled) problems.push(`CONSOLE_CHANNELS and DISABLED_CHANNELS: ${kind} is in both; keep it in one`);
    else if (configured && (toConsole || disabled)) {
      problems.push(`${toConsole ? "CONSOLE_CHANNELS" : "DISABLED_CHANNELS"}: ${kind} has a provider (${variable}); remove one or the other`);
    } else if (!configured && !toConsole && !disabled && !embedded) {
      const remedy = production
        ? `name ${kind} in DISABLED_CHANNELS to send none`
        : `name ${kind} in CONSOLE_CHANNELS to print its messages to stderr, or in DISABLED_CHANNELS to send none`;
      problems.push(`${variable}: required with DATABASE_URL or REDIS_URL, or ${remedy}`);
    }
    if (!configured && !disabled && (toConsole || (embedded && !production))) printed.push(kind);
  }
  return printed;
}
