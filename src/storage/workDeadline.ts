import { performance } from "node:perf_hooks";
import type { StoreWork } from "../domain/storeWork.js";

/*
 * One deadline for the Redis commands of one piece of work (domain/storeWork.ts). A call may run
 * several commands one after the other, and on a failure undo some of them (a secret revoked, a
 * charge refunded): each command bounded on its own, a call facing a dead node waited for every
 * one of them in turn (5.6 s seen on a Cluster with a primary down: the put timed out, then its
 * undo, then the refund was retried through CLUSTERDOWN). Here the budget starts with the work's
 * first command and every later one, undo included, gets what is left: the call answers
 * `unavailable` within the budget, and what could not be undone by then is left to expire (each
 * charge, secret and lease has its own expiry).
 *
 * The budget is REDIS_TIMEOUT_MS, which is also ioredis' timeout for one command: a command given
 * no work is bounded all the same, alone, and so is the first command of a work.
 */

interface Budget {
  readonly budgetMs: number;
  /** performance.now() by which the work's Redis commands end; set by its first command. */
  readonly endsAt: number;
  /**
   * Set when a command's timer ran out. Timers keep the event loop's coarser time, so one may fire
   * a fraction of a millisecond before performance.now() reaches endsAt: the budget is spent then.
   */
  spent: boolean;
}

// Kept beside the work, not on it: the domain hands it around without knowing what a store keeps.
const budgets = new WeakMap<StoreWork, Budget>();

/** Redis did not answer within what was left of the work's budget; the call answers `unavailable`. */
export class RedisDeadlinePassed extends Error {
  override readonly name = "RedisDeadlinePassed";

  constructor(budgetMs: number) {
    super(`Redis did not answer within the call's ${budgetMs} ms (REDIS_TIMEOUT_MS)`);
  }
}

/**
 * Sends one command within what is left of `work`'s budget of `budgetMs` (the client's own timeout
 * for one command, commandTimeoutOf): not at all once it is spent, and answered
 * RedisDeadlinePassed when it runs out first. The command itself is not cancelled (ioredis cannot
 * take it back), only no longer awaited: like any command that timed out, it may still have run,
 * which every caller's undo already assumes. Without work (relays, start-up, single-command
 * operations) or a budget (a client made without a command timeout), the command as it is.
 */
export function withinDeadline<T>(work: StoreWork | undefined, budgetMs: number | undefined, command: () => Promise<T>): Promise<T> {
  if (work === undefined || budgetMs === undefined) return command();
  const now = performance.now();
  const budget = budgets.get(work);
  if (budget === undefined) {
    budgets.set(work, { budgetMs, endsAt: now + budgetMs, spent: false });
    // The work's first command has the whole budget, which is the client's own timeout for one
    // command: that bounds it already, with no timer of ours.
    return command();
  }
  const leftMs = budget.endsAt - now;
  if (budget.spent || leftMs <= 0) return Promise.reject(new RedisDeadlinePassed(budget.budgetMs));
  const pending = command();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      budget.spent = true;
      reject(new RedisDeadlinePassed(budget.budgetMs));
    }, leftMs);
  });
  // Its late answer (or error) is nobody's: ioredis settles it at its own commandTimeout at most.
  pending.catch(() => undefined);
  return Promise.race([pending, expired]).finally(() => clearTimeout(timer));
}
