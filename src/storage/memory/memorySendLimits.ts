import { admissionKeys, idempotencyKey, streakKey } from "../sendLimitKeyspace.js";
import { ExpiringEntries } from "./expiringEntries.js";
import { MemoryTraffic } from "./memoryTraffic.js";
import {
  resendDelayMs,
  type SendRefund,
  type SendRequest,
  type SendDecision,
  type SendLimits,
  type TrafficRequest,
} from "../../domain/secrets/sendLimits.js";
import { assertAdmissionRequest, assertGuessOutcome, assertIdempotency, assertRefund, assertScope, assertTraffic } from "../sendLimitArguments.js";
import { assertPositiveInteger } from "../storeArguments.js";
import { allChecks, trafficPlan } from "../trafficPlan.js";

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

/** The guess budget's window, or its long window (under its own name). */
interface GuessWindow {
  readonly kind: "guess";
  /** Guesses reserved in this window, net of refunds. */
  used: number;
  readonly expiresAt: number;
}

/** A run of consecutive wrong guesses; it lasts the streak window from its last failure. */
interface GuessStreak {
  readonly kind: "streak";
  readonly failures: number;
  readonly expiresAt: number;
}

interface IdempotencyEntry {
  readonly kind: "idempotency";
  readonly fingerprint: string;
  /** Undefined while pending. */
  answer: string | undefined;
  readonly expiresAt: number;
}

type Entry = SendWindow | GuessWindow | GuessStreak | IdempotencyEntry;

/**
 * Send limits for the embedded default (no REDIS_URL): one process, two maps (the destinations'
 * entries here, the traffic counters in MemoryTraffic), with the same names, order of checks and
 * boundaries as the Redis scripts (an entry lives while now < expiresAt). Each operation runs to
 * completion without awaiting, so JavaScript's single thread makes it atomic, traffic included:
 * what a Redis Cluster does in up to three steps with undo is one step here. The state is this
 * instance's alone, so it is only for a single instance.
 */
export class MemorySendLimits implements SendLimits {
  readonly #entries: ExpiringEntries<Entry>;
  /** The traffic counters: every destination's, kept apart from the destinations' own entries. */
  readonly #traffic: MemoryTraffic;

  constructor(options: MemorySendLimitsOptions = {}) {
    this.#entries = new ExpiringEntries(options);
    this.#traffic = new MemoryTraffic(options);
  }

  /** Entries held, expired ones included until swept or read; for tests and metrics. */
  get size(): number {
    return this.#entries.size + this.#traffic.size;
  }

  /** Drops every expired entry; returns how many. */
  sweep(): number {
    return this.#entries.sweep() + this.#traffic.sweep();
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
    let remaining = guesses.limit - (guess?.used ?? 0);
    if (guess !== undefined && remaining <= 0) {
      return { status: "guess_budget", retryAfterMs: Math.max(guess.expiresAt - now, 1) };
    }
    const guessLong = guesses.long === undefined ? undefined : this.#live(names.guessLong, "guess", now);
    if (guesses.long !== undefined) {
      const longRemaining = guesses.long.limit - (guessLong?.used ?? 0);
      if (guessLong !== undefined && longRemaining <= 0) {
        return { status: "guess_budget", retryAfterMs: Math.max(guessLong.expiresAt - now, 1) };
      }
      remaining = Math.min(remaining, longRemaining);
    }
    const streak = guesses.streak === undefined ? undefined : this.#live(names.streak, "streak", now);
    if (guesses.streak !== undefined && streak !== undefined && streak.failures >= guesses.streak.limit) {
      return { status: "guess_streak", retryAfterMs: Math.max(streak.expiresAt - now, 1) };
    }
    // A code near the ceiling gets only the guesses left before it.
    if (guesses.streak !== undefined) remaining = Math.min(remaining, guesses.streak.limit - (streak?.failures ?? 0));
    const reservedGuesses = Math.min(guesses.reserve, remaining);

    const traffic = allChecks(trafficPlan(request.traffic));
    const refusal = this.#traffic.check(traffic, now);
    if (refusal !== undefined) return refusal;

    // Everything passed: charge it all.
    this.#traffic.charge(traffic, now);
    const window: SendWindow = send ?? { kind: "send", count: 0, last: now, previous: undefined, expiresAt: now + sends.windowMs };
    window.previous = send === undefined ? undefined : window.last;
    window.count += 1;
    window.last = now;
    this.#entries.set(names.send, window);
    const budget = guess ?? { kind: "guess", used: 0, expiresAt: now + guesses.windowMs };
    budget.used += reservedGuesses;
    this.#entries.set(names.guess, budget);
    if (guesses.long !== undefined) {
      const long = guessLong ?? { kind: "guess", used: 0, expiresAt: now + guesses.long.windowMs };
      long.used += reservedGuesses;
      this.#entries.set(names.guessLong, long);
    }
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
    this.#traffic.refund(allChecks(trafficPlan(refund.traffic)), now);
    for (const name of [names.guess, names.guessLong]) {
      const budget = this.#live(name, "guess", now);
      if (budget !== undefined) budget.used = Math.max(0, budget.used - refund.guesses);
    }
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

  async recordGuess(scope: string, outcome: "wrong" | "right", streakWindowMs: number): Promise<void> {
    assertGuessOutcome(scope, outcome, streakWindowMs);
    this.#assertOpen();
    const now = this.#entries.now();
    const name = streakKey(scope);
    if (outcome === "right") {
      this.#entries.delete(name);
      return;
    }
    const failures = (this.#live(name, "streak", now)?.failures ?? 0) + 1;
    this.#entries.set(name, { kind: "streak", failures, expiresAt: now + streakWindowMs });
  }

  async recordConversion(traffic: TrafficRequest): Promise<void> {
    assertTraffic(traffic);
    this.#assertOpen();
    this.#traffic.recordConversion(trafficPlan(traffic).area, this.#entries.now());
  }

  /** Stops the sweeps and forgets everything; further calls reject. Calling it twice is harmless. */
  async close(): Promise<void> {
    this.#entries.close();
    this.#traffic.close();
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
