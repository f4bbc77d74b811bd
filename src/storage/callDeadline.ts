import { AsyncLocalStorage } from "node:async_hooks";
import { performance } from "node:perf_hooks";

/*
 * One deadline for the Redis work of one call. A call may run several commands one after the
 * other, and on a failure undo some of them (a secret revoked, a charge refunded): each command
 * bounded on its own, a call facing a dead node waited for every one of them in turn (5.6 s
 * seen on a Cluster with a primary down: the put timed out, then its undo, then the refund was
 * retried through CLUSTERDOWN). Here the budget starts with the call's first command and every
 * later one, undo included, gets what is left: the call answers `unavailable` within the budget,
 * and what could not be undone by then is left to expire (each charge, secret and lease has its
 * own expiry).
 *
 * Carried in async context rather than passed to each store method: the undo paths of every
 * service share it without each port growing a parameter. Work a call starts and does not await
 * (a relay nudged) awaits in its own context, not the call's.
 */

interface CallBudget {
  readonly budgetMs: number;
  /** performance.now() by which the call's Redis work ends; set by its first command. */
  endsAt?: number;
  /**
   * Set when a command's timer ran out. Timers keep the event loop's coarser time, so one may fire
   * a fraction of a millisecond before performance.now() reaches endsAt: the budget is spent then.
   */
  spent?: boolean;
}

const calls = new AsyncLocalStorage<CallBudget>();

/** Redis did not answer within what was left of the call's budget; the call answers `unavailable`. */
export class RedisDeadlinePassed extends Error {
  override readonly name = "RedisDeadlinePassed";

  constructor(budgetMs: number) {
    super(`Redis did not answer within the call's ${budgetMs} ms (REDIS_TIMEOUT_MS)`);
  }
}

/** Runs one call's work under a budget for its Redis commands. A nested call keeps the outer budget. */
export function withRedisDeadline<T>(budgetMs: number, work: () => T): T {
  if (calls.getStore() !== undefined) return work();
  return calls.run({ budgetMs }, work);
}

/**
 * Sends one command within what is left of the current call's budget: not at all once it is
 * spent, and answered RedisDeadlinePassed when it runs out first. The command itself is not
 * cancelled (ioredis cannot take it back), only no longer awaited: like any command that timed
 * out, it may still have run, which every caller's undo already assumes. Outside a call (relays,
 * start-up), the command as it is.
 */
export function withinRedisDeadline<T>(command: () => Promise<T>): Promise<T> {
  const call = calls.getStore();
  if (call === undefined) return command();
  const now = performance.now();
  call.endsAt ??= now + call.budgetMs;
  const leftMs = call.endsAt - now;
  if (call.spent === true || leftMs <= 0) return Promise.reject(new RedisDeadlinePassed(call.budgetMs));
  const pending = command();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      call.spent = true;
      reject(new RedisDeadlinePassed(call.budgetMs));
    }, leftMs);
  });
  // Its late answer (or error) is nobody's: ioredis settles it at its own commandTimeout at most.
  pending.catch(() => undefined);
  return Promise.race([pending, expired]).finally(() => clearTimeout(timer));
}
