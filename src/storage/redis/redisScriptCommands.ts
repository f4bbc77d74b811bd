import { observed, unobserved, type StoreCalls } from "../../observability/storeCalls.js";
import type { StoreWork } from "../../domain/storeWork.js";
import { withinDeadline } from "../workDeadline.js";
import { commandTimeoutOf, type RedisClient } from "./redisClient.js";

/**
 * Calls one script on the keys given, all of one hash tag (a script over several keys must stay
 * in one Cluster slot), within what is left of `work`'s deadline (see workDeadline.ts); the reply
 * is checked by the caller (see redisReplies.ts).
 */
export type ScriptCommand = (work: StoreWork | undefined, keys: readonly string[], ...args: (string | number)[]) => Promise<unknown>;

/**
 * Registers scripts with ioredis' defineCommand, which sends EVALSHA and falls back to EVAL on
 * NOSCRIPT (after a Redis restart or failover), so a script's body crosses the wire only when the
 * server lacks it.
 *
 * defineCommand adds methods the client's type does not know; rather than augmenting ioredis'
 * types for every client in the process, the methods are looked up once here and returned as
 * typed functions. The names carry a namespace so they cannot clash with other code defining
 * commands on a shared client; redefining them (a second store on the same client) is harmless.
 * No fixed key count, so it goes first on each call: a script may take a key only sometimes.
 */
export function defineScriptCommands<Name extends string>(
  redis: RedisClient,
  namespace: string,
  scripts: Record<Name, string>,
  calls: StoreCalls = unobserved,
): Record<Name, ScriptCommand> {
  const budgetMs = commandTimeoutOf(redis);
  const entries = Object.entries<string>(scripts).map(([name, lua]) => {
    const commandName = `${namespace}_${name}`;
    redis.defineCommand(commandName, { lua });
    const method = definedMethod(redis, commandName);
    // Named by script, never by key or argument: those carry hashes of codes and recipients.
    const operation = { system: "redis", name: "EVALSHA", summary: `EVALSHA ${commandName}` } as const;
    const call: ScriptCommand = (work, keys, ...args) =>
      observed(calls, operation, () => withinDeadline(work, budgetMs, () => method.call(redis, keys.length, ...keys, ...args)));
    return [name, call] as const;
  });
  return Object.fromEntries(entries) as Record<Name, ScriptCommand>;
}

function definedMethod(redis: RedisClient, commandName: string): (...values: unknown[]) => Promise<unknown> {
  const method: unknown = (redis as unknown as Record<string, unknown>)[commandName];
  if (typeof method !== "function") {
    throw new Error(`ioredis did not define the ${commandName} command`);
  }
  return method as (...values: unknown[]) => Promise<unknown>;
}
