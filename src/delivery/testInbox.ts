import type { MessageKind } from "../domain/messages/outboundMessage.js";

/*
 * Test mode's inbox (docs/test-mode.md): every delivery attempt to a test destination, kept
 * instead of sent, for an admin to read back. Redis keeps it when REDIS_URL is set (shared by
 * every instance), the process otherwise.
 */

/** How test mode answered an attempt, as the destination scripted it (channels/testMode/scriptedOutcome.ts). */
export type TestOutcome = "delivered" | "failed_permanently" | "failed_temporarily" | "timed_out";

export interface TestMessage {
  readonly kind: MessageKind;
  /** Address, E.164 number or device token; addresses lower-cased, so a filter finds them whatever the case. */
  readonly destination: string;
  /** Email subject or push title; empty for SMS. */
  readonly subject: string;
  readonly text: string;
  readonly data: Readonly<Record<string, string>>;
  readonly createTime: Date;
  readonly outcome: TestOutcome;
  readonly attempt: number;
}

export interface TestInbox {
  /**
   * Counts an attempt to send the message `messageKey` names (the same message retried has the
   * same key) and returns its number, 1 for the first.
   */
  countAttempt(messageKey: string): Promise<number>;
  add(message: TestMessage): Promise<void>;
  /** Newest first; `destination` undefined: every destination. */
  list(destination: string | undefined, limit: number): Promise<readonly TestMessage[]>;
}

/** How long the inbox keeps a message, and how many it keeps per list: a CI run's worth. */
export const testInboxRetentionMs = 60 * 60_000;
export const testInboxCapacity = 1000;

/** How the inbox names a destination: addresses lower-cased (the domain part is case-blind, and a CI author types either). */
export function inboxDestination(destination: string): string {
  return destination.includes("@") ? destination.toLowerCase() : destination;
}
