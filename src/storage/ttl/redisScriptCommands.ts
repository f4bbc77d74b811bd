import type { Redis } from "ioredis";
import {
  admitScript,
  completeIdempotencyScript,
  refundGuessesScript,
  releaseIdempotencyScript,
} from "./redisAdmissionScripts.js";
import {
  countAttemptScript,
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
  readonly countAttempt: ScriptCommand;
  readonly peekSecret: ScriptCommand;
  readonly increment: ScriptCommand;
  readonly hitFixedWindow: ScriptCommand;
  readonly hitSlidingWindow: ScriptCommand;
}

const scripts: Record<keyof TtlScriptCommands, string> = {
  putSecret: putSecretScript,
  takeSecret: takeSecretScript,
  countAttempt: countAttemptScript,
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

/**
 * Calls one script on the keys given, all of one hash tag (a script over several keys must stay
 * in one Cluster slot); the reply is checked by the caller.
 */
export type KeysScriptCommand = (keys: readonly string[], ...args: (string | number)[]) => Promise<unknown>;

export interface AdmissionScriptCommands {
  readonly admit: KeysScriptCommand;
  readonly completeIdempotency: KeysScriptCommand;
  readonly releaseIdempotency: KeysScriptCommand;
  readonly refundGuesses: KeysScriptCommand;
}

const admissionScripts: Record<keyof AdmissionScriptCommands, string> = {
  admit: admitScript,
  completeIdempotency: completeIdempotencyScript,
  releaseIdempotency: releaseIdempotencyScript,
  refundGuesses: refundGuessesScript,
};

/**
 * As defineTtlScriptCommands, for the send admission's scripts. These are defined without a fixed
 * numberOfKeys, so the key count goes first on each call: admit takes an idempotency key only
 * when the request has one.
 */
export function defineAdmissionScriptCommands(redis: Redis): AdmissionScriptCommands {
  const entries = Object.entries(admissionScripts).map(([name, lua]) => {
    const commandName = `onetimeAdmission_${name}`;
    redis.defineCommand(commandName, { lua });
    const method = definedMethod(redis, commandName);
    const command: KeysScriptCommand = (keys, ...args) => method.call(redis, keys.length, ...keys, ...args);
    return [name, command] as const;
  });
  return Object.fromEntries(entries) as Record<keyof AdmissionScriptCommands, KeysScriptCommand>;
}

function boundCommand(redis: Redis, commandName: string): ScriptCommand {
  const method = definedMethod(redis, commandName);
  return (key, ...args) => method.call(redis, key, ...args);
}

function definedMethod(redis: Redis, commandName: string): (...values: unknown[]) => Promise<unknown> {
  const method: unknown = (redis as unknown as Record<string, unknown>)[commandName];
  if (typeof method !== "function") {
    throw new Error(`ioredis did not define the ${commandName} command`);
  }
  return method as (...values: unknown[]) => Promise<unknown>;
}
