import type { MessageKind, OutboundMessage } from "./outboundMessage.js";

/*
 * How the rules hand a rendered message over: sealed, to wait beside the secret or the record it
 * belongs to (their stores keep it), or sent at once when the caller must learn whether it went
 * out. delivery/delivery.ts implements these.
 */

/**
 * A rendered message ready to wait in a queue: its content sealed (only the relay opens it, for
 * its own id), with what the relay needs to send it and to log the attempt.
 */
export interface QueuedMessage {
  readonly id: string;
  readonly kind: MessageKind;
  /** Which template rendered it, for logs and metrics. */
  readonly template?: string;
  /** What it belongs to (a verification id, a token id), for tracing. */
  readonly reference?: string;
  /** The message as JSON, sealed with the context `payloadContext(id)`. */
  readonly sealedPayload: string;
  /** Delivery attempts before the message is given up. */
  readonly maxAttempts: number;
}

/** A queued message with its own expiry: in Postgres no secret beside it says when it is dead. */
export interface NewOutboxMessage extends QueuedMessage {
  /** After this the message is never sent: its code would no longer work. */
  readonly expiresAt: Date;
}

/** What a service needs to hand over a message that waits beside its secret (see PendingSecrets.put). */
export interface MessageSealer {
  /** Throws NoChannelForKind (delivery/delivery.ts) unless a channel can carry this kind. */
  requireChannel(kind: MessageKind): void;
  /**
   * Seals a rendered message for a queue that keeps it beside its secret (see PendingSecrets.put).
   * Throws NoChannelForKind unless a channel can carry it to its destination; nothing is stored.
   */
  seal(message: OutboundMessage, options: { readonly template?: string; readonly reference?: string }): QueuedMessage;
}

/**
 * Sends a message while the caller waits, for a caller that must tell its own caller whether it
 * went out (seed 003's push: "503 if the token was not successfully sent").
 */
export interface DirectDelivery {
  /** Sends within `timeoutMs` and reports how it went; nothing is stored. */
  sendNow(message: OutboundMessage, timeoutMs: number, reference?: string): Promise<SendResult>;
}

/** How a direct send ended, as far as the rules care: `accepted` means it went out. */
export interface SendResult {
  readonly status: "accepted" | "rejected" | "failed";
}
