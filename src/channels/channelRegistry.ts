import type { Channel } from "./channel.js";
import type { MessageKind } from "../domain/messages/outboundMessage.js";

/** The channels a deployment turned on, one per message kind; wired from config in app.ts. */
export interface ChannelRegistry {
  get<K extends MessageKind>(kind: K): Channel<K> | undefined;
  close(): Promise<void>;
}

export type ChannelSet = { readonly [K in MessageKind]?: Channel<K> };

export function channelRegistry(channels: ChannelSet): ChannelRegistry {
  return {
    get<K extends MessageKind>(kind: K): Channel<K> | undefined {
      return channels[kind] as Channel<K> | undefined;
    },
    async close() {
      await Promise.allSettled(Object.values(channels).map((channel) => channel.close()));
    },
  };
}
