import type { TestInbox } from "../../delivery/testInbox.js";
import type { MessageKind, OutboundMessage } from "../../domain/messages/outboundMessage.js";
import type { Channel } from "../channel.js";
import type { ChannelRegistry, ChannelSet } from "../channelRegistry.js";
import { createTestInboxChannel } from "./testInboxChannel.js";
import type { TestDestinations } from "./testDestinations.js";

/**
 * Test mode over the deployment's channels: a test destination's message goes to the inbox, every
 * other one to the channel it would have gone to without test mode (or to none, as before). A kind
 * with no provider thus carries test destinations only; DISABLED_CHANNELS still refuses its real ones.
 */
export function testModeChannels(real: ChannelRegistry, destinations: TestDestinations, inbox: TestInbox): ChannelRegistry {
  const inboxChannels: ChannelSet = {
    email: createTestInboxChannel("email", inbox),
    sms: createTestInboxChannel("sms", inbox),
    push: createTestInboxChannel("push", inbox),
  };
  return {
    get<K extends MessageKind>(kind: K): Channel<K> | undefined {
      return real.get(kind) ?? (inboxChannels[kind] as Channel<K>);
    },
    channelFor(message: OutboundMessage): Channel | undefined {
      return destinations.isTest(message) ? (inboxChannels[message.kind] as Channel) : real.channelFor(message);
    },
    close: () => real.close(),
  };
}
