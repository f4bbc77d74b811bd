import type { TestModeConfig } from "../../config/testModeConfig.js";
import type { OutboundMessage } from "../../domain/messages/outboundMessage.js";

/** Tells test destinations from real ones, by the patterns and prefixes test mode was given. */
export interface TestDestinations {
  isTest(message: OutboundMessage): boolean;
}

export function testDestinations(config: TestModeConfig): TestDestinations {
  const emails = config.emailPatterns.map(globToRegExp);
  return {
    isTest(message) {
      switch (message.kind) {
        case "email":
          return emails.some((pattern) => pattern.test(message.to));
        case "sms":
          return config.phonePrefixes.some((prefix) => message.to.startsWith(prefix));
        case "push":
          return config.pushTokenPrefixes.some((prefix) => message.to.deviceToken.startsWith(prefix));
      }
    },
  };
}

/** `*` is any run of characters (none included); everything else is itself, case-insensitively. */
function globToRegExp(pattern: string): RegExp {
  const parts = pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`, "i");
}
