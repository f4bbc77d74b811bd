/**
 * What a channel delivers and how it answers. Services never talk to a provider directly: they
 * hand a rendered message to the delivery layer, which picks the channel for its kind.
 */
export type MessageKind = "email" | "sms" | "push";

export interface EmailMessage {
  readonly kind: "email";
  /** A single mailbox, already validated. */
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface SmsMessage {
  readonly kind: "sms";
  /** E.164, already normalised (see channels/sms/phoneNumber.ts). */
  readonly to: string;
  readonly text: string;
}

/** Seed 003's push providers: APNs sandbox, APNs production, Firebase Cloud Messaging. */
export type PushProvider = "apns.dev" | "apns" | "fcm";

export interface PushTarget {
  readonly provider: PushProvider;
  /** Device token (APNs) or registration token (FCM): seed 003's `pn_prid`. */
  readonly deviceToken: string;
  /** Seed 003's `pn_param`: the app's topic (APNs bundle id) when it differs from the default. */
  readonly param?: string;
}

export interface PushMessage {
  readonly kind: "push";
  readonly to: PushTarget;
  readonly title: string;
  readonly body: string;
  /** Delivered to the app, not shown: where the token travels. */
  readonly data: Readonly<Record<string, string>>;
}

export type OutboundMessage = EmailMessage | SmsMessage | PushMessage;

export type MessageOf<K extends MessageKind> = Extract<OutboundMessage, { kind: K }>;

/**
 * How a send ended. `rejected` is final (bad address, unknown device, refused content): retrying
 * cannot help. `failed` is for now (timeout, 4xx greylisting, 5xx from an HTTP provider, rate
 * limit): the outbox retries it.
 */
export type DeliveryOutcome =
  | { readonly status: "accepted"; readonly providerMessageId?: string }
  | { readonly status: "rejected"; readonly reason: string }
  | { readonly status: "failed"; readonly reason: string; readonly retryAfterMs?: number };

export interface Channel<K extends MessageKind = MessageKind> {
  readonly kind: K;
  /** Which provider stands behind it, for logs and metrics: `smtp`, `twilio`, `apns`, `console`… */
  readonly provider: string;
  /**
   * Sends one message. Resolves with the outcome for every answer the provider gives; rejects
   * only on a bug. `signal` aborts a send that outlives its deadline (reported as `failed`).
   * The reason never contains the message's content: it is logged.
   */
  send(message: MessageOf<K>, signal: AbortSignal): Promise<DeliveryOutcome>;
  /** Releases connections (SMTP pool, HTTP/2 sessions). */
  close(): Promise<void>;
}
