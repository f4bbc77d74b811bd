import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { retentionMetrics } from "../../src/observability/retentionMetrics.js";
import { purgePlan, RetentionPurge, type RetentionRules } from "../../src/retention/retentionPurge.js";
import type { PurgePlan, PurgeReport, RetentionStore } from "../../src/retention/retentionStore.js";

const hour = 3_600_000;
const rules: RetentionRules = {
  intervalMs: 60_000,
  batchSize: 100,
  maxBatches: 3,
  auditEventsMs: 365 * 24 * hour,
  auditAddressesMs: 168 * hour,
  accountTokensMs: 168 * hour,
  outboxMessagesMs: 24 * hour,
  pendingTotpSecretsMs: 25 * hour,
  factorChangeReportsMs: 7 * 24 * hour,
};
const nothing: PurgeReport = { rows: { audit_events: 0, audit_addresses: 0, account_tokens: 0, outbox_messages: 0, pending_totp_secrets: 0, factor_change_reports: 0 }, unfinished: [] };

/** A store that records each plan and finishes each round when the test says so. */
function heldStore() {
  const plans: PurgePlan[] = [];
  const finish: Array<() => void> = [];
  const store: RetentionStore = {
    purge: (plan) => {
      plans.push(plan);
      return new Promise((resolve) => finish.push(() => resolve(nothing)));
    },
  };
  return { store, plans, finish };
}

describe("RetentionPurge's schedule", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("cuts each table at its own retention before now", () => {
    const now = Date.UTC(2026, 11, 6);
    const plan = purgePlan(rules, now);
    expect(plan.cutoffs.audit_addresses).toEqual(new Date(now - 168 * hour));
    expect(plan.cutoffs.audit_events).toEqual(new Date(now - 365 * 24 * hour));
    expect(plan.cutoffs.pending_totp_secrets).toEqual(new Date(now - 25 * hour));
    expect(plan).toMatchObject({ batchSize: 100, maxBatches: 3 });
  });

  it("runs the first round one interval after start, then one interval after each round ends", async () => {
    const { store, plans, finish } = heldStore();
    const purge = new RetentionPurge(store, rules, retentionMetrics(new Registry()), createLogger("silent"));
    purge.start();
    await vi.advanceTimersByTimeAsync(rules.intervalMs - 1);
    expect(plans).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(plans).toHaveLength(1);
    // A slow round does not overlap the next: the interval counts from its end.
    await vi.advanceTimersByTimeAsync(5 * rules.intervalMs);
    expect(plans).toHaveLength(1);
    finish.shift()!();
    await vi.advanceTimersByTimeAsync(rules.intervalMs);
    expect(plans).toHaveLength(2);
    finish.shift()!();
    await purge.stop();
  });

  it("stops cleanly: waits for the round under way, and starts no other", async () => {
    const { store, plans, finish } = heldStore();
    const purge = new RetentionPurge(store, rules, retentionMetrics(new Registry()), createLogger("silent"));
    purge.start();
    await vi.advanceTimersByTimeAsync(rules.intervalMs);
    let stopped = false;
    const stopping = purge.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish.shift()!();
    await stopping;
    await vi.advanceTimersByTimeAsync(10 * rules.intervalMs);
    expect(plans).toHaveLength(1);
  });
});
