import { expect } from "vitest";
import type { SendDecision, SendRequest, TrafficArea, TrafficRequest, TrafficRule, WindowLimit } from "../../src/domain/secrets/sendLimits.js";

/*
 * Requests and expectations shared by the send limits' contract files (sendLimits.contract.ts,
 * sendLimitsTraffic.contract.ts).
 */

export type Overrides = {
  readonly scope?: string;
  readonly bucket?: string;
  readonly idempotency?: SendRequest["idempotency"];
  readonly sends?: Partial<SendRequest["sends"]>;
  readonly guesses?: Partial<SendRequest["guesses"]>;
  readonly traffic?: TrafficRequest;
};

/** Roomy limits and a 100 ms first resend wait; each test narrows what it is about. */
export function request(overrides: Overrides = {}): SendRequest {
  return {
    scope: overrides.scope ?? "scope-a",
    bucket: overrides.bucket ?? "email",
    ...(overrides.idempotency === undefined ? {} : { idempotency: overrides.idempotency }),
    sends: { limit: 3, windowMs: 60_000, firstResendDelayMs: 100, maxResendDelayMs: 1_000, ...overrides.sends },
    guesses: { limit: 100, windowMs: 60_000, reserve: 5, ...overrides.guesses },
    ...(overrides.traffic === undefined ? {} : { traffic: overrides.traffic }),
  };
}

export const noWait = { firstResendDelayMs: 0, maxResendDelayMs: 0 };

/** SMS with only the rules given; an area defaults to country GB and one prefix. */
export function sms(rules: { readonly global?: WindowLimit; readonly area?: Partial<TrafficArea> } = {}): TrafficRequest {
  return {
    channel: "sms",
    ...(rules.global === undefined ? {} : { global: rules.global }),
    ...(rules.area === undefined ? {} : { area: { country: "GB", prefix: "prefix-447700", ...rules.area } }),
  };
}

export function expectRetry(result: SendDecision, status: SendDecision["status"], above: number, atMost: number): void {
  expect(result.status).toBe(status);
  expect(retryAfter(result)).toBeGreaterThan(above);
  expect(retryAfter(result)).toBeLessThanOrEqual(atMost);
}

export function expectTraffic(result: SendDecision, rule: TrafficRule, above: number, atMost: number): void {
  expect(result).toMatchObject({ status: "traffic", rule });
  expectRetry(result, "traffic", above, atMost);
}

export function retryAfter(result: SendDecision): number {
  if (!("retryAfterMs" in result)) throw new Error(`expected a refusal with retryAfterMs, got ${JSON.stringify(result)}`);
  return result.retryAfterMs;
}

export function at<T>(list: readonly T[], index: number): T {
  const item = list[index % list.length];
  if (item === undefined) throw new Error("empty list");
  return item;
}

export function countStatuses(results: readonly SendDecision[]): Partial<Record<SendDecision["status"], number>> {
  const counts: Partial<Record<SendDecision["status"], number>> = {};
  for (const { status } of results) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
