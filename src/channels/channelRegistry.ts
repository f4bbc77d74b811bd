import type { Channel } from "./channel.js";
import type { MessageKind, OutboundMessage } from "../domain/messages/outboundMessage.js";

/** The channels a deployment turned on, one per message kind; wired from config in app.ts. */
export interface ChannelRegistry {
  /** A channel for the kind, if any destination of that kind can be sent to. */
  get<K extends MessageKind>(kind: K): Channel<K> | undefined;
  /** The channel this message goes through: its kind's, unless test mode keeps it (channels/testMode). */
  channelFor(message: OutboundMessage): Channel | undefined;
  close(): Promise<void>;
}

export type ChannelSet = { readonly [K in MessageKind]?: Channel<K> };

export function channelRegistry(channels: ChannelSet): ChannelRegistry {
  return {
    get<K extends MessageKind>(kind: K): Channel<K> | undefined {
      return channels[kind] as Channel<K> | undefined;
    },
    channelFor(message: OutboundMessage): Channel | undefined {
      return channels[message.kind] as Channel | undefined;
    },
    async close() {
      await Promise.allSettled(Object.values(channels).map((channel) => channel.close()));
    },
  };
}
