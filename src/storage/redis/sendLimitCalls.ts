import type { IdempotencyRequest, SendRefund, SendRequest } from "../../domain/secrets/sendLimits.js";
import { admissionKeys, idempotencyKey } from "../sendLimitKeyspace.js";
import type { TrafficChecks } from "../trafficPlan.js";

/*
 * The keys and arguments of the send limits' scripts, in the order their parts read them
 * (sendLimitScripts.ts: readDestination, readRefund; trafficScripts.ts: readTraffic). A composed
 * script takes its parts' calls one after the other (joinCalls).
 */

export interface ScriptCall {
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
}

export function destinationCall(keyPrefix: string, request: SendRequest): ScriptCall {
  const { scope, bucket, idempotency, sends, guesses } = request;
  const names = admissionKeys(scope, bucket);
  const keys = [names.send, names.guess, names.guessLong, names.streak].map((name) => keyPrefix + name);
  const args: (string | number)[] = [
    sends.limit,
    sends.windowMs,
    sends.firstResendDelayMs,
    sends.maxResendDelayMs,
    guesses.limit,
    guesses.windowMs,
    guesses.reserve,
    // 0: no such limit (limits are positive integers).
    guesses.long?.limit ?? 0,
    guesses.long?.windowMs ?? 0,
    guesses.streak?.limit ?? 0,
    guesses.streak?.windowMs ?? 0,
  ];
  if (idempotency === undefined) return { keys, args: [...args, 0] };
  return { keys: [...keys, keyPrefix + idempotencyKey(scope, idempotency.key)], args: [...args, 1, idempotency.fingerprint, idempotency.ttlMs] };
}

/** With `release`, the refund also forgets the admit's pending idempotency key (an undo on Cluster). */
export function refundCall(keyPrefix: string, scope: string, bucket: string, refund: SendRefund, release?: IdempotencyRequest): ScriptCall {
  const names = admissionKeys(scope, bucket);
  const keys = [names.send, names.guess, names.guessLong].map((name) => keyPrefix + name);
  const args = [refund.guesses, refund.sendNumber ?? 0];
  if (release === undefined) return { keys, args: [...args, 0] };
  return { keys: [...keys, keyPrefix + idempotencyKey(scope, release.key)], args: [...args, 1, release.fingerprint] };
}

export function trafficCall(keyPrefix: string, checks: TrafficChecks): ScriptCall {
  const keys: string[] = [];
  const args: (string | number)[] = [checks.counters.length];
  for (const counter of checks.counters) {
    keys.push(keyPrefix + counter.name);
    args.push(counter.rule, counter.amount, counter.cap, counter.windowMs);
  }
  args.push(checks.conversions.length);
  for (const guard of checks.conversions) {
    keys.push(keyPrefix + guard.name);
    // String(): the shortest text that reads back as the same double, in Lua's tonumber as in JS.
    args.push(guard.rule, guard.minSends, String(guard.minRatio), guard.windowMs);
  }
  return { keys, args };
}

export function joinCalls(...calls: readonly ScriptCall[]): ScriptCall {
  return { keys: calls.flatMap((call) => call.keys), args: calls.flatMap((call) => call.args) };
}
