import type { Redis } from "ioredis";
import {
  hitFixedWindowScript,
  hitSlidingWindowScript,
  incrementScript,
  peekSecretScript,
  putSecretScript,
  takeSecretScript,
} from "./redisScripts.js";

/** Calls one script on one key; the reply is checked by the caller (see redisReplies.ts). */
export type ScriptCommand = (key: string, ...args: (string | number)[]) => Promise<unknown>;

export interface TtlScriptCommands {
  readonly putSecret: ScriptCommand;
  readonly takeSecret: ScriptCommand;
  readonly peekSecret: ScriptCommand;
  readonly increment: ScriptCommand;
  readonly hitFixedWindow: ScriptCommand;
  readonly hitSlidingWindow: ScriptCommand;
}

const scripts: Record<keyof TtlScriptCommands, string> = {
  putSecret: putSecretScript,
  takeSecret: takeSecretScript,
  peekSecret: peekSecretScript,
  increment: incrementScript,
  hitFixedWindow: hitFixedWindowScript,
  hitSlidingWindow: hitSlidingWindowScript,
};

/**
 * Registers the scripts with ioredis' defineCommand, which sends EVALSHA and falls back to EVAL
 * on NOSCRIPT (after a Redis restart or failover), so the script body crosses the wire only when
 * the server lacks it.
 *
 * defineCommand adds methods the client's type does not know; rather than augmenting ioredis'
 * types for every client in the process, the methods are looked up once here and returned as
 * typed functions. The names carry a prefix so they cannot clash with other code defining
 * commands on a shared client; redefining them (a second store on the same client) is harmless.
 */
export function defineTtlScriptCommands(redis: Redis): TtlScriptCommands {
  const entries = Object.entries(scripts).map(([name, lua]) => {
    const commandName = `onetimeTtl_${name}`;
    redis.defineCommand(commandName, { numberOfKeys: 1, lua });
    return [name, boundCommand(redis, commandName)] as const;
  });
  return Object.fromEntries(entries) as Record<keyof TtlScriptCommands, ScriptCommand>;
}

function boundCommand(redis: Redis, commandName: string): ScriptCommand {
  const method: unknown = (redis as unknown as Record<string, unknown>)[commandName];
  if (typeof method !== "function") {
    throw new Error(`ioredis did not define the ${commandName} command`);
  }
  return (key, ...args) => (method as (...values: unknown[]) => Promise<unknown>).call(redis, key, ...args);
}
