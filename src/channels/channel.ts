import type { MessageKind, MessageOf } from "../domain/messages/outboundMessage.js";

/*
 * How a channel answers. A channel sends one kind of the domain's messages (domain/messages)
 * through one provider; delivery picks the channel for a message's kind.
 */

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
