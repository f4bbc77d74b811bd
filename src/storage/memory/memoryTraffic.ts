import type { SendDecision } from "../../domain/secrets/sendLimits.js";
import type { TrafficChecks } from "../trafficPlan.js";
import { ExpiringEntries, type ExpiringEntriesOptions } from "./expiringEntries.js";

interface Counter {
  readonly kind: "counter";
  used: number;
  readonly expiresAt: number;
}

interface Conversion {
  readonly kind: "conversion";
  sends: number;
  validated: number;
  readonly expiresAt: number;
}

type Entry = Counter | Conversion;

type TrafficRefusal = Extract<SendDecision, { status: "traffic" }>;

/**
 * The traffic counters of MemorySendLimits, with the semantics of trafficScripts.ts: the checks
 * come as a TrafficChecks list (trafficPlan.ts), windows are fixed from their first charge, and an
 * entry lives while now < expiresAt. Synchronous, like its owner: an admit checks here and then
 * charges here and on the destination without awaiting, so nothing runs in between.
 */
export class MemoryTraffic {
  readonly #entries: ExpiringEntries<Entry>;

  constructor(options: ExpiringEntriesOptions) {
    this.#entries = new ExpiringEntries(options);
  }

  get size(): number {
    return this.#entries.size;
  }

  sweep(): number {
    return this.#entries.sweep();
  }

  close(): void {
    this.#entries.close();
  }

  /** The first rule that refuses (conversion guards, then counters, each in the list's order); undefined when the send may go. Charges nothing. */
  check(checks: TrafficChecks, now: number): TrafficRefusal | undefined {
    // Conversion first: when a prefix is both full and never validated, the pumping signature is the rule to name.
    for (const guard of checks.conversions) {
      const entry = this.#conversion(guard.name, now);
      if (entry !== undefined && entry.sends >= guard.minSends && entry.validated < guard.minRatio * entry.sends) {
        return refusal(guard.rule, entry.expiresAt - now);
      }
    }
    for (const counter of checks.counters) {
      const entry = this.#counter(counter.name, now);
      if ((entry?.used ?? 0) + counter.amount > counter.cap) {
        // A cost beyond the whole budget refuses too; with nothing charged yet, for a whole window.
        return refusal(counter.rule, entry === undefined ? counter.windowMs : entry.expiresAt - now);
      }
    }
    return undefined;
  }

  charge(checks: TrafficChecks, now: number): void {
    for (const counter of checks.counters) {
      const entry = this.#counter(counter.name, now) ?? { kind: "counter", used: 0, expiresAt: now + counter.windowMs };
      entry.used += counter.amount;
      this.#entries.set(counter.name, entry);
    }
    for (const guard of checks.conversions) {
      const entry = this.#conversion(guard.name, now) ?? { kind: "conversion", sends: 0, validated: 0, expiresAt: now + guard.windowMs };
      entry.sends += 1;
      this.#entries.set(guard.name, entry);
    }
  }

  /** Gives back what charge added, never below 0; the windows keep their ends. */
  refund(checks: TrafficChecks, now: number): void {
    for (const counter of checks.counters) {
      const entry = this.#counter(counter.name, now);
      if (entry !== undefined) entry.used = Math.max(0, entry.used - counter.amount);
    }
    for (const guard of checks.conversions) {
      const entry = this.#conversion(guard.name, now);
      if (entry !== undefined) entry.sends = Math.max(0, entry.sends - 1);
    }
  }

  /** A validation counts in a window its sends opened, never beyond their number; no window, no count. */
  recordConversion(checks: TrafficChecks, now: number): void {
    for (const guard of checks.conversions) {
      const entry = this.#conversion(guard.name, now);
      if (entry !== undefined && entry.validated < entry.sends) entry.validated += 1;
    }
  }

  #counter(name: string, now: number): Counter | undefined {
    const entry = this.#entries.get(name, now);
    return entry?.kind === "counter" ? entry : undefined;
  }

  #conversion(name: string, now: number): Conversion | undefined {
    const entry = this.#entries.get(name, now);
    return entry?.kind === "conversion" ? entry : undefined;
  }
}

function refusal(rule: TrafficRefusal["rule"], leftMs: number): TrafficRefusal {
  return { status: "traffic", rule, retryAfterMs: Math.max(leftMs, 1) };
}
