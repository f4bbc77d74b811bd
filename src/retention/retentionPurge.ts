import type { Logger } from "../observability/logger.js";
import type { RetentionMetrics } from "../observability/retentionMetrics.js";
import type { PurgePlan, PurgeReport, PurgeTask, RetentionStore } from "./retentionStore.js";

/** How long each kind of row is kept, and how much one round may purge. */
export interface RetentionRules {
  /** Time between rounds on one instance; the first round comes one interval after start. */
  readonly intervalMs: number;
  /** Rows per statement. */
  readonly batchSize: number;
  /** Statements per table and round. */
  readonly maxBatches: number;
  /** Audit events are deleted this long after they occurred. */
  readonly auditEventsMs: number;
  /** The caller's address in an audit event is reduced to a keyed hash this long after it occurred. */
  readonly auditAddressesMs: number;
  /** Account tokens (used, revoked or not) are deleted this long after they expire. */
  readonly accountTokensMs: number;
  /** Finished outbox messages are deleted this long after they finished. */
  readonly outboxMessagesMs: number;
  /** A TOTP secret never activated is deleted this long after it was last (re)issued. */
  readonly pendingTotpSecretsMs: number;
  /** "This wasn't me" report tokens (used or not) are deleted this long after they expire. */
  readonly factorChangeReportsMs: number;
}

/** The cutoffs of a round at `now`: each task's rows older than its retention. */
export function purgePlan(rules: RetentionRules, now: number): PurgePlan {
  const before = (ms: number) => new Date(now - ms);
  return {
    cutoffs: {
      audit_events: before(rules.auditEventsMs),
      audit_addresses: before(rules.auditAddressesMs),
      account_tokens: before(rules.accountTokensMs),
      outbox_messages: before(rules.outboxMessagesMs),
      pending_totp_secrets: before(rules.pendingTotpSecretsMs),
      factor_change_reports: before(rules.factorChangeReportsMs),
    },
    batchSize: rules.batchSize,
    maxBatches: rules.maxBatches,
  };
}

/**
 * Deletes what has aged out, every `intervalMs`, on every instance; the store lets one round run
 * at a time across all of them, so more instances purge no faster and no twice. A round is
 * bounded (batches × batch size per table); what it leaves waits for the next.
 */
export class RetentionPurge {
  private timer: NodeJS.Timeout | undefined;
  /** Rounds under way (a timer's, and any a caller started): stop() waits for each. */
  private readonly running = new Set<Promise<unknown>>();
  private stopped = true;

  constructor(
    private readonly store: RetentionStore,
    private readonly rules: RetentionRules,
    private readonly metrics: RetentionMetrics,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Lets a round under way finish (each is bounded), then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all(this.running);
  }

  /**
   * One round at `now` (default the clock's). Answers what it purged, or null when another
   * instance held the lock. Errors are counted and logged, then thrown.
   */
  async runOnce(now = this.now()): Promise<PurgeReport | null> {
    const round = this.round(now);
    const settled = round.catch(() => undefined).finally(() => this.running.delete(settled));
    this.running.add(settled);
    return round;
  }

  private async round(now: number): Promise<PurgeReport | null> {
    let report: PurgeReport | null;
    try {
      report = await this.store.purge(purgePlan(this.rules, now));
    } catch (error) {
      this.metrics.rounds("failed");
      this.logger.error({ err: error }, "retention purge round failed");
      throw error;
    }
    if (report === null) {
      this.metrics.rounds("busy");
      return null;
    }
    for (const [task, rows] of Object.entries(report.rows) as [PurgeTask, number][]) this.metrics.purged(task, rows);
    this.metrics.rounds("purged");
    this.metrics.succeeded(this.now());
    if (report.unfinished.length > 0) {
      // Not an error: the rest goes next round. Said, since a purge that never catches up needs more batches.
      this.logger.warn({ unfinished: report.unfinished, rows: report.rows }, "retention purge left rows for the next round (RETENTION_MAX_BATCHES)");
    } else if (Object.values(report.rows).some((rows) => rows > 0)) {
      this.logger.info({ rows: report.rows }, "retention purge round");
    }
    return report;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runOnce()
        .catch(() => undefined)
        .finally(() => this.schedule());
    }, this.rules.intervalMs);
    // Housekeeping never keeps the process alive on its own.
    this.timer.unref();
  }
}
