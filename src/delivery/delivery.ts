import { randomUUID } from "node:crypto";
import type { DeliveryOutcome } from "../channels/channel.js";
import type { DirectDelivery, MessageSealer } from "../domain/messages/messageDelivery.js";
import type { MessageKind, OutboundMessage } from "../domain/messages/outboundMessage.js";
import type { SecretBox } from "../crypto/secretBox.js";
import { DomainError } from "../errors/domainError.js";
import type { OutboxRelay } from "./outboxRelay.js";
import { payloadContext } from "./outboxRelay.js";
import type { OutboxStore } from "./outboxStore.js";
import type { Sender } from "./sender.js";

export interface QueueOptions {
  /** After this the message is never sent (the code in it has expired). */
  readonly expiresAt: Date;
  readonly template?: string;
  readonly reference?: string;
  /** The caller's database transaction, so the message commits with its record or not at all. */
  readonly transaction?: unknown;
}

/**
 * What services use to get a message out: beside its secret (sealed here, stored by the secret's
 * store), through the Postgres outbox in the transaction of the record it belongs to, or sent now
 * when the caller must tell its own caller whether it went out (seed 003's push: "503 if the token
 * was not successfully sent").
 */
export interface Delivery extends MessageSealer, DirectDelivery {
  /** Queues the message in the Postgres outbox; returns its outbox id. Fails if no channel can carry its kind. */
  queue(message: OutboundMessage, options: QueueOptions): Promise<string>;
  /** Sends within `timeoutMs` and reports how it went; nothing is stored. */
  sendNow(message: OutboundMessage, timeoutMs: number, reference?: string): Promise<DeliveryOutcome>;
}

export interface DeliveryDependencies {
  readonly outbox: OutboxStore;
  readonly relay: OutboxRelay;
  readonly sender: Sender;
  readonly box: SecretBox;
  readonly maxAttempts: number;
}

export class NoChannelForKind extends DomainError {
  readonly kind = "failed_precondition";
  readonly reason = "CHANNEL_NOT_CONFIGURED";
  constructor(readonly messageKind: string) {
    super(`no ${messageKind} channel is configured on this server`);
    this.name = "NoChannelForKind";
  }
}

/** Builds queued messages for the queue that keeps them beside their secrets; needs no database. */
export function createMessageSealer(dependencies: Pick<DeliveryDependencies, "sender" | "box" | "maxAttempts">): MessageSealer {
  const { sender, box, maxAttempts } = dependencies;
  const requireChannel = (kind: MessageKind): void => {
    if (!sender.hasChannel(kind)) throw new NoChannelForKind(kind);
  };
  return {
    requireChannel,
    seal(message, options) {
      // Per destination: with test mode a kind may carry only its test destinations.
      if (!sender.canSend(message)) throw new NoChannelForKind(message.kind);
      const id = randomUUID();
      return {
        id,
        kind: message.kind,
        ...(options.template === undefined ? {} : { template: options.template }),
        ...(options.reference === undefined ? {} : { reference: options.reference }),
        sealedPayload: box.seal(JSON.stringify(message), payloadContext(id)),
        maxAttempts,
      };
    },
  };
}

export function createDelivery(dependencies: DeliveryDependencies): Delivery {
  const { outbox, relay, sender } = dependencies;
  const sealer = createMessageSealer(dependencies);
  return {
    ...sealer,
    async queue(message, options) {
      const sealed = sealer.seal(message, options);
      await outbox.enqueue({ ...sealed, expiresAt: options.expiresAt }, options.transaction);
      // Inside a transaction the row is not visible until commit; the poll picks it up then.
      if (options.transaction === undefined) relay.nudge();
      return sealed.id;
    },
    sendNow(message, timeoutMs, reference) {
      return sender.send(message, timeoutMs, reference === undefined ? {} : { messageId: reference });
    },
  };
}
