import type { MessageKind } from "../domain/messages/outboundMessage.js";

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
