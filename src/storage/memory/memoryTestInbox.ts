import { testInboxCapacity, testInboxRetentionMs, type TestInbox, type TestMessage } from "../../delivery/testInbox.js";

/** Test mode's inbox in this process: for the embedded backends, which are one process anyway. */
export class MemoryTestInbox implements TestInbox {
  /** Oldest first. */
  private messages: TestMessage[] = [];
  private readonly attempts = new Map<string, { count: number; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async countAttempt(messageKey: string): Promise<number> {
    this.prune();
    const count = (this.attempts.get(messageKey)?.count ?? 0) + 1;
    this.attempts.set(messageKey, { count, expiresAt: this.now() + testInboxRetentionMs });
    return count;
  }

  async add(message: TestMessage): Promise<void> {
    this.prune();
    this.messages.push(message);
    if (this.messages.length > testInboxCapacity) this.messages = this.messages.slice(-testInboxCapacity);
  }

  async list(destination: string | undefined, limit: number): Promise<readonly TestMessage[]> {
    this.prune();
    const found: TestMessage[] = [];
    for (let index = this.messages.length - 1; index >= 0 && found.length < limit; index--) {
      const message = this.messages[index]!;
      if (destination === undefined || message.destination === destination) found.push(message);
    }
    return found;
  }

  private prune(): void {
    const now = this.now();
    const oldest = now - testInboxRetentionMs;
    if (this.messages.length > 0 && this.messages[0]!.createTime.getTime() < oldest) {
      this.messages = this.messages.filter((message) => message.createTime.getTime() >= oldest);
    }
    for (const [key, entry] of this.attempts) if (entry.expiresAt <= now) this.attempts.delete(key);
  }
}
