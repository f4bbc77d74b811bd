import type { Channel } from "../channel.js";
import type { MessageKind, MessageOf, OutboundMessage } from "../../domain/messages/outboundMessage.js";
import type { ChannelSet } from "../channelRegistry.js";

export type WriteLine = (text: string) => void;

/**
 * Development delivery: prints what would be sent, code included, so a developer on the embedded
 * defaults can finish a flow without an SMTP server or an SMS account. On real stores only the
 * kinds CONSOLE_CHANNELS names print, and config refuses that when NODE_ENV=production; the banner
 * says so on every message, so it is never mistaken for a log.
 */
export function createConsoleChannel<K extends MessageKind>(kind: K, write: WriteLine): Channel<K> {
  return {
    kind,
    provider: "console",
    async send(message: MessageOf<K>) {
      write(render(message));
      return { status: "accepted" };
    },
    async close() {},
  };
}

export function createConsoleChannels(write: WriteLine): Required<ChannelSet> {
  return {
    email: createConsoleChannel("email", write),
    sms: createConsoleChannel("sms", write),
    push: createConsoleChannel("push", write),
  };
}

const rule = "-".repeat(72);

function render(message: OutboundMessage): string {
  const body =
    message.kind === "email"
      ? [`to:      ${message.to}`, `subject: ${message.subject}`, "", message.text]
      : message.kind === "sms"
        ? [`to:      ${message.to}`, "", message.text]
        : [
            `to:      ${message.to.provider} device ${message.to.deviceToken}`,
            `title:   ${message.title}`,
            "",
            message.body,
            `data:    ${JSON.stringify(message.data)}`,
          ];
  return [rule, `DEVELOPMENT ${message.kind.toUpperCase()} (console channel, not delivered)`, ...body, rule, ""].join("\n");
}
