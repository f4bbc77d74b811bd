import { admissionKeys, idempotencyKey } from "../sendLimitKeyspace.js";
import { ExpiringEntries } from "./expiringEntries.js";
import { resendDelayMs, type SendRefund, type SendRequest, type SendDecision, type SendLimits } from "../../domain/secrets/sendLimits.js";
import { assertAdmissionRequest, assertIdempotency, assertRefund, assertScope } from "../sendLimitArguments.js";
import { assertNonNegativeInteger, assertPositiveInteger } from "../storeArguments.js";

export interface MemorySendLimitsOptions {
  /** Current time in epoch milliseconds; tests inject a fake clock. Default `Date.now()`. */
  readonly now?: () => number;
  /** How often expired entries are dropped in the background; 0 turns it off. Default 60_000. */
  readonly sweepIntervalMs?: number;
}

interface SendWindow {
  readonly kind: "send";
  count: number;
  /** When the last send was admitted. */
  last: number;
  /** When the send before it was admitted, for a refund of the last one to put back. */
  previous: number | undefined;
  readonly expiresAt: number;
}

interface GuessWindow {
  readonly kind: "guess";
  /** Guesses reserved in this window, net of refunds. */
  used: number;
  readonly expiresAt: number;
}

interface IdempotencyEntry {
  readonly kind: "idempotency";
  readonly fingerprint: string;
  /** Undefined while pending. */
  answer: string | undefined;
  readonly expiresAt: number;
}

type Entry = SendWindow | GuessWindow | IdempotencyEntry;

/**
 * Send limits for the embedded default (no REDIS_URL): one process, one map, with the same
 * names and boundaries as the Redis scripts (an entry lives while now < expiresAt). Each operation
 * runs to completion without awaiting, so JavaScript's single thread makes it atomic; the state is
 * this instance's alone, so it is only for a single instance.
 */
export class MemorySendLimits implements SendLimits {
  readonly #entries: ExpiringEntries<Entry>;

  constructor(options: MemorySendLimitsOptions = {}) {
    this.#entries = new ExpiringEntries(options);
  }

  /** Entries held, expired ones included until swept or read; for tests and metrics. */
  get size(): number {
    return this.#entries.size;
  }

  /** Drops every expired entry; returns how many. */
  sweep(): number {
    return this.#entries.sweep();
  }

  async admit(request: SendRequest): Promise<SendDecision> {
    assertAdmissionRequest(request);
    this.#assertOpen();
    const { scope, bucket, idempotency, sends, guesses } = request;
    const now = this.#entries.now();
    const names = admissionKeys(scope, bucket);

    const idemName = idempotency === undefined ? undefined : idempotencyKey(scope, idempotency.key);
    const idem = idemName === undefined ? undefined : this.#live(idemName, "idempotency", now);
    if (idempotency !== undefined && idem !== undefined) {
      if (idem.fingerprint !== idempotency.fingerprint) return { status: "conflict" };
      return idem.answer === undefined ? { status: "in_progress" } : { status: "replay", answer: idem.answer };
    }

    const send = this.#live(names.send, "send", now);
    const sendLeft = send === undefined ? sends.windowMs : send.expiresAt - now;
    if (send !== undefined) {
      if (send.count >= sends.limit) return { status: "send_limit", retryAfterMs: Math.max(sendLeft, 1) };
      const delay = resendDelayMs(sends, send.count + 1);
      const due = send.last + delay;
      // A new window has no wait, so the wait ends with the window at the latest.
      if (now < due) return { status: "too_soon", retryAfterMs: Math.max(Math.min(due - now, delay, sendLeft), 1) };
    }

    const guess = this.#live(names.guess, "guess", now);
    const remaining = guesses.limit - (guess?.used ?? 0);
    if (guess !== undefined && remaining <= 0) {
      return { status: "guess_budget", retryAfterMs: Math.max(guess.expiresAt - now, 1) };
    }
    const reservedGuesses = Math.min(guesses.reserve, remaining);

    // Everything passed: charge it all.
    const window: SendWindow = send ?? { kind: "send", count: 0, last: now, previous: undefined, expiresAt: now + sends.windowMs };
    window.previous = send === undefined ? undefined : window.last;
    window.count += 1;
    window.last = now;
    this.#entries.set(names.send, window);
    const budget = guess ?? { kind: "guess", used: 0, expiresAt: now + guesses.windowMs };
    budget.used += reservedGuesses;
    this.#entries.set(names.guess, budget);
    if (idempotency !== undefined && idemName !== undefined) {
      const { fingerprint, ttlMs } = idempotency;
      this.#entries.set(idemName, { kind: "idempotency", fingerprint, answer: undefined, expiresAt: now + ttlMs });
    }

    const nextSendInMs = window.count < sends.limit ? Math.min(resendDelayMs(sends, window.count + 1), sendLeft) : sendLeft;
    return { status: "admitted", sendNumber: window.count, nextSendInMs, reservedGuesses };
  }

  async completeIdempotency(scope: string, key: string, fingerprint: string, answer: string, ttlMs: number): Promise<void> {
    assertScope(scope);
    assertIdempotency(key, fingerprint);
    assertPositiveInteger("ttlMs", ttlMs);
    this.#assertOpen();
    const now = this.#entries.now();
    const name = idempotencyKey(scope, key);
    const entry = this.#live(name, "idempotency", now);
    if (entry === undefined) {
      // Expired while the send ran: stored afresh, so a retry still replays instead of sending.
      this.#entries.set(name, { kind: "idempotency", fingerprint, answer, expiresAt: now + ttlMs });
    } else if (entry.fingerprint === fingerprint) {
      entry.answer = answer;
    }
  }

  async releaseIdempotency(scope: string, key: string, fingerprint: string): Promise<void> {
    assertScope(scope);
    assertIdempotency(key, fingerprint);
    this.#assertOpen();
    const name = idempotencyKey(scope, key);
    const entry = this.#live(name, "idempotency", this.#entries.now());
    if (entry?.fingerprint === fingerprint && entry.answer === undefined) this.#entries.delete(name);
  }

  async refund(scope: string, bucket: string, refund: SendRefund): Promise<void> {
    assertRefund(scope, bucket, refund);
    this.#assertOpen();
    const now = this.#entries.now();
    const names = admissionKeys(scope, bucket);
    const budget = this.#live(names.guess, "guess", now);
    if (budget !== undefined) budget.used = Math.max(0, budget.used - refund.guesses);
    const send = this.#live(names.send, "send", now);
    // Only while no later send was admitted: its charge and its wait stand.
    if (send === undefined || send.count !== refund.sendNumber) return;
    if (send.count <= 1) {
      this.#entries.delete(names.send);
      return;
    }
    send.count -= 1;
    send.last = send.previous ?? send.last;
  }

  /** Stops the sweep and forgets everything; further calls reject. Calling it twice is harmless. */
  async close(): Promise<void> {
    this.#entries.close();
  }

  #assertOpen(): void {
    if (this.#entries.closed) throw new Error("send limits are closed");
  }

  #live<K extends Entry["kind"]>(name: string, kind: K, now: number): Extract<Entry, { kind: K }> | undefined {
    const entry = this.#entries.get(name, now);
    if (entry === undefined) return undefined;
    // Names embed their kind (sendLimitKeyspace.ts), so an entry found under a name has its kind.
    return entry.kind === kind ? (entry as Extract<Entry, { kind: K }>) : undefined;
  }
}
