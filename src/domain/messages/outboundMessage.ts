import type { PushTarget } from "../destinations/pushTarget.js";

/**
 * What the rules send. Services never talk to a provider directly: they hand a rendered message
 * to the delivery layer, which picks the channel for its kind (see channels/channel.ts).
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
  /** E.164, already normalised (see destinations/phoneNumber.ts). */
  readonly to: string;
  readonly text: string;
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
