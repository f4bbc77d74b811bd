import type { Channel, DeliveryOutcome } from "../../src/channels/channel.js";
import type { MessageKind, MessageOf } from "../../src/domain/messages/outboundMessage.js";

/**
 * A channel of our own interface that records what it was asked to send and answers from a
 * script; it stands in for a provider in tests of the layers above channels (the real adapters
 * are tested against real local servers).
 */
export class RecordingChannel<K extends MessageKind> implements Channel<K> {
  readonly provider = "recording";
  readonly sent: MessageOf<K>[] = [];
  private readonly script: Array<DeliveryOutcome | "hang"> = [];

  constructor(readonly kind: K, private readonly fallback: DeliveryOutcome = { status: "accepted" }) {}

  /** The next sends answer these, in order; then the fallback. "hang" never answers until aborted. */
  answer(...outcomes: Array<DeliveryOutcome | "hang">): this {
    this.script.push(...outcomes);
    return this;
  }

  send(message: MessageOf<K>, signal: AbortSignal): Promise<DeliveryOutcome> {
    const next = this.script.shift() ?? this.fallback;
    if (next === "hang") {
      return new Promise((resolve) => signal.addEventListener("abort", () => resolve({ status: "failed", reason: "timed out" })));
    }
    if (next.status === "accepted") this.sent.push(message);
    return Promise.resolve(next);
  }

  async close(): Promise<void> {}
}
