import { afterEach, describe, expect, it } from "vitest";
import { MemorySendLimits } from "../../../src/storage/memory/memorySendLimits.js";
import type { SendRequest } from "../../../src/domain/secrets/sendLimits.js";
import { describeSendLimitsContract } from "../sendLimits.contract.js";

describeSendLimitsContract("MemorySendLimits", async () => {
  // A clock of its own per test: waits are steps, so the suite does not sleep.
  let time = 1_000_000;
  const admission = new MemorySendLimits({ now: () => time, sweepIntervalMs: 0 });
  return {
    admission,
    // One process has one map: a "second instance" is the same admission.
    peer: async () => admission,
    elapse: async (ms) => {
      time += ms;
    },
    close: () => admission.close(),
  };
});

describe("MemorySendLimits with a fake clock", () => {
  let time = 1_000_000;
  const opened: MemorySendLimits[] = [];
  const open = () => {
    const admission = new MemorySendLimits({ now: () => time, sweepIntervalMs: 0 });
    opened.push(admission);
    return admission;
  };
  const request: SendRequest = {
    scope: "s",
    bucket: "email",
    idempotency: { key: "k", fingerprint: "fp", ttlMs: 5_000 },
    sends: { limit: 3, windowMs: 1_000, firstResendDelayMs: 100, maxResendDelayMs: 150 },
    guesses: { limit: 10, windowMs: 2_000, reserve: 3 },
  };
  const { idempotency: _, ...plain } = request;

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((admission) => admission.close()));
  });

  it("measures waits to the millisecond, and caps a wait at the window's end", async () => {
    const admission = open();
    expect(await admission.admit(plain)).toMatchObject({ sendNumber: 1, nextSendInMs: 100 });
    time += 99;
    expect(await admission.admit(plain)).toEqual({ status: "too_soon", retryAfterMs: 1 });
    time += 801;
    // The third send would wait 150 ms, but the window ends in 100 ms, and a new window has no wait.
    expect(await admission.admit(plain)).toMatchObject({ sendNumber: 2, nextSendInMs: 100 });
    time += 40;
    expect(await admission.admit(plain)).toEqual({ status: "too_soon", retryAfterMs: 60 });
    time += 60;
    expect(await admission.admit(plain)).toMatchObject({ status: "admitted", sendNumber: 1 });
  });

  it("reports the window's end as the next send once the window is full", async () => {
    const admission = open();
    const full = { ...plain, sends: { ...plain.sends, limit: 1 } };
    expect(await admission.admit(full)).toMatchObject({ sendNumber: 1, nextSendInMs: 1_000 });
    time += 400;
    expect(await admission.admit(full)).toEqual({ status: "send_limit", retryAfterMs: 600 });
  });

  it("drops every entry once it expires", async () => {
    const admission = open();
    await admission.admit(request);
    await admission.refund("s", "unsent", { guesses: 1, sendNumber: 1 });
    expect(admission.size).toBe(3);
    time += 1_000;
    expect(admission.sweep()).toBe(1);
    time += 4_000;
    expect(admission.sweep()).toBe(2);
    expect(admission.size).toBe(0);
  });
});
