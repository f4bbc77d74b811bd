import { createHash, randomUUID } from "node:crypto";
import { inboxDestination, type TestInbox, type TestOutcome } from "../../delivery/testInbox.js";
import type { MessageKind, MessageOf, OutboundMessage } from "../../domain/messages/outboundMessage.js";
import type { Channel, DeliveryOutcome } from "../channel.js";
import { scriptOf } from "./scriptedOutcome.js";

/**
 * Keeps a test destination's message in the inbox instead of sending it, and answers as its
 * destination scripts (scriptedOutcome.ts), the way a provider would: the relay retries or gives
 * up exactly as it does for real messages.
 */
export function createTestInboxChannel<K extends MessageKind>(kind: K, inbox: TestInbox, now: () => number = Date.now): Channel<K> {
  return {
    kind,
    provider: "test-inbox",
    async send(message: MessageOf<K>, signal: AbortSignal): Promise<DeliveryOutcome> {
      const script = scriptOf(message);
      let attempt: number;
      try {
        // A retried message is the same message: its content names it, so attempts count across instances.
        attempt = await inbox.countAttempt(messageKey(message));
      } catch {
        return { status: "failed", reason: "test inbox unavailable" };
      }
      const outcome: TestOutcome =
        script.kind === "fail"
          ? "failed_permanently"
          : script.kind === "timeout"
            ? "timed_out"
            : script.kind === "retry" && attempt <= script.failures
              ? "failed_temporarily"
              : "delivered";
      try {
        await inbox.add({ ...contentOf(message), createTime: new Date(now()), outcome, attempt });
      } catch {
        return { status: "failed", reason: "test inbox unavailable" };
      }
      switch (outcome) {
        case "delivered":
          return { status: "accepted", providerMessageId: `test-${randomUUID()}` };
        case "failed_permanently":
          return { status: "rejected", reason: "test mode: fail+ scripts a permanent failure" };
        case "failed_temporarily":
          return { status: "failed", reason: `test mode: retry${script.kind === "retry" ? script.failures : ""}+ scripts a temporary failure (attempt ${attempt})` };
        case "timed_out":
          // As a provider that never answers: the sender's deadline ends the wait.
          await new Promise<void>((resolve) => {
            if (signal.aborted) resolve();
            else signal.addEventListener("abort", () => resolve(), { once: true });
          });
          return { status: "failed", reason: "test mode: timeout+ scripts no answer" };
      }
    },
    async close() {},
  };
}

function contentOf(message: OutboundMessage) {
  switch (message.kind) {
    case "email":
      return { kind: message.kind, destination: inboxDestination(message.to), subject: message.subject, text: message.text, data: {} };
    case "sms":
      return { kind: message.kind, destination: message.to, subject: "", text: message.text, data: {} };
    case "push":
      return { kind: message.kind, destination: message.to.deviceToken, subject: message.title, text: message.body, data: message.data };
  }
}

function messageKey(message: OutboundMessage): string {
  return createHash("sha256").update(JSON.stringify(message)).digest("base64url");
}
