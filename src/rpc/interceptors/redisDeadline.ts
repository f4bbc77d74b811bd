import type { Interceptor } from "@connectrpc/connect";

/** Runs `work` under one budget for its Redis commands: storage/callDeadline.ts's withRedisDeadline, handed in by app.ts. */
export type WithRedisDeadline = <T>(budgetMs: number, work: () => T) => T;

/**
 * Gives each unary call one budget for its Redis commands, undo included (see callDeadline.ts).
 * Streaming calls are left alone: a watch lives for minutes, and what it reads is bounded per
 * command by ioredis' own timeout.
 */
export function redisDeadline(budgetMs: number, withDeadline: WithRedisDeadline): Interceptor {
  return (next) => (request) => (request.method.methodKind === "unary" ? withDeadline(budgetMs, () => next(request)) : next(request));
}
