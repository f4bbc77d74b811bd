import type { DeliveryOutcome } from "../channels/channel.js";
import type { MessageKind, OutboundMessage } from "../domain/messages/outboundMessage.js";
import type { ChannelRegistry } from "../channels/channelRegistry.js";
import { SpanKind, untraced, type Spans } from "../observability/spans.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";

export interface SendContext {
  /** For the log line: the outbox row, or the record a synchronous send belongs to. */
  readonly messageId?: string;
  readonly template?: string | null;
  readonly attempt?: number;
}

/**
 * Sends one message through its kind's channel within a deadline, and logs and counts the attempt
 * (channel, provider, outcome, latency; never the content). Both the outbox relay and the
 * synchronous path go through here.
 */
export class Sender {
  constructor(
    private readonly channels: ChannelRegistry,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly spans: Spans = untraced,
  ) {}

  /** Whether some destination of this kind can be sent to (with test mode, test destinations may be the only ones). */
  hasChannel(kind: MessageKind): boolean {
    return this.channels.get(kind) !== undefined;
  }

  /** Whether this message's destination can be sent to. */
  canSend(message: OutboundMessage): boolean {
    return this.channels.channelFor(message) !== undefined;
  }

  async send(message: OutboundMessage, timeoutMs: number, context: SendContext = {}): Promise<DeliveryOutcome> {
    const channel = this.channels.channelFor(message);
    if (channel === undefined) {
      return this.report(message.kind, "none", { status: "rejected", reason: `no ${message.kind} channel is configured` }, 0, context);
    }
    const started = performance.now();
    const attributes = { "onetime.message.kind": message.kind, "onetime.provider": channel.provider };
    return this.spans.run(`send ${message.kind}`, SpanKind.CLIENT, attributes, async (span) => {
      let outcome: DeliveryOutcome;
      try {
        outcome = await channel.send(message, AbortSignal.timeout(timeoutMs));
      } catch (error) {
        // A channel rejects only on a bug; treat it as transient so the outbox keeps the message.
        this.logger.error({ err: error, kind: message.kind, provider: channel.provider }, "channel threw instead of answering");
        outcome = { status: "failed", reason: "channel error" };
      }
      span.setAttribute("onetime.delivery.outcome", outcome.status);
      return this.report(message.kind, channel.provider, outcome, (performance.now() - started) / 1000, context);
      // A relay's send runs outside any call: it gets a trace of its own.
    }, "own trace");
  }

  private report(kind: MessageKind, provider: string, outcome: DeliveryOutcome, seconds: number, context: SendContext): DeliveryOutcome {
    this.metrics.deliveryAttempts.inc({ kind, provider, outcome: outcome.status });
    this.metrics.deliveryDuration.observe({ kind, provider }, seconds);
    const fields = {
      kind,
      provider,
      outcome: outcome.status,
      latencyMs: Math.round(seconds * 1000),
      ...context,
      ...(outcome.status === "accepted" ? { providerMessageId: outcome.providerMessageId } : { reason: outcome.reason }),
    };
    if (outcome.status === "accepted") this.logger.info(fields, "delivery attempt");
    else this.logger.warn(fields, "delivery attempt");
    return outcome;
  }
}
