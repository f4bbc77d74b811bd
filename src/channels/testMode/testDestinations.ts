import type { TestModeConfig } from "../../config/testModeConfig.js";
import type { OutboundMessage } from "../../domain/messages/outboundMessage.js";

/** Tells test destinations from real ones, by the patterns and prefixes test mode was given. */
export interface TestDestinations {
  isTest(message: OutboundMessage): boolean;
  /** The same question before there is a message: a verification's or a token's address or number. */
  isTestAddress(medium: "email" | "sms", address: string): boolean;
}

export function testDestinations(config: TestModeConfig): TestDestinations {
  const emails = config.emailPatterns.map(globToRegExp);
  const isTestAddress = (medium: "email" | "sms", address: string) =>
    medium === "email" ? emails.some((pattern) => pattern.test(address)) : config.phonePrefixes.some((prefix) => address.startsWith(prefix));
  return {
    isTestAddress,
    isTest(message) {
      return message.kind === "push"
        ? config.pushTokenPrefixes.some((prefix) => message.to.deviceToken.startsWith(prefix))
        : isTestAddress(message.kind, message.to);
    },
  };
}

/** `*` is any run of characters (none included); everything else is itself, case-insensitively. */
function globToRegExp(pattern: string): RegExp {
  const parts = pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`, "i");
}
