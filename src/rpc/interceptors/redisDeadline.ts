import type { Interceptor } from "@connectrpc/connect";
import { withRedisDeadline } from "../../storage/callDeadline.js";

/**
 * Gives each unary call one budget for its Redis commands, undo included (see callDeadline.ts).
 * Streaming calls are left alone: a watch lives for minutes, and what it reads is bounded per
 * command by ioredis' own timeout.
 */
export function redisDeadline(budgetMs: number): Interceptor {
  return (next) => (request) => (request.method.methodKind === "unary" ? withRedisDeadline(budgetMs, () => next(request)) : next(request));
}
