import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SendLimits } from "../../src/domain/secrets/sendLimits.js";
import { at, countStatuses, expectRetry, noWait, request, retryAfter, sms, type Overrides } from "./sendLimitRequests.js";
import { describeTrafficContract } from "./sendLimitsTraffic.contract.js";

/** What a backend's test file hands the contract. */
export interface SendLimitsFixture {
  /** An admission over fresh, empty state. */
  readonly admission: SendLimits;
  /**
   * Another admission on the same state, as a second instance of the service would hold (its own
   * connection, where the backend has connections). The in-process one returns itself.
   */
  peer(): Promise<SendLimits>;
  /** Lets `ms` pass on the backend's clock: a real sleep for Redis, a clock step in memory. */
  elapse(ms: number): Promise<void>;
  /** Releases everything the fixture opened; called after each test. */
  close(): Promise<void>;
}

/**
 * The behaviour every send admission must show, run against each implementation so the embedded
 * default and Redis cannot drift apart. Waits are tens to hundreds of milliseconds: real sleeps on
 * Redis (whose clock is the one that counts), clock steps in memory. Bounds on retryAfterMs allow
 * for the milliseconds a real clock moves between calls.
 */
export function describeSendLimitsContract(name: string, makeFixture: () => Promise<SendLimitsFixture>): void {
  describe(`${name} (send admission contract)`, () => {
    let fixture: SendLimitsFixture;
    let admission: SendLimits;

    beforeEach(async () => {
      fixture = await makeFixture();
      admission = fixture.admission;
    });

    afterEach(async () => {
      await fixture.close();
    });

    /** Gives back guesses only: the refund names a bucket with no send to give back. */
    const refundGuesses = (scope: string, guesses: number) => admission.refund(scope, "never-sent", { guesses, sendNumber: 1 });

    /** The admission and `count - 1` peers, to spread concurrent calls as several instances would. */
    async function instances(count: number): Promise<SendLimits[]> {
      const all = [admission];
      while (all.length < count) all.push(await fixture.peer());
      return all;
    }

    describe("send window and resend wait", () => {
      it("admits the first send with the first resend wait and the reserved guesses", async () => {
        expect(await admission.admit(request())).toEqual({
          status: "admitted",
          sendNumber: 1,
          nextSendInMs: 100,
          reservedGuesses: 5,
        });
      });

      it("refuses a resend that comes too soon, without charging, then admits it with a doubled wait", async () => {
        const first = request({ guesses: { limit: 12 } });
        await admission.admit(first);
        const early = await admission.admit(first);
        expectRetry(early, "too_soon", 50, 100);
        // The refused send reserved nothing: another bucket still gets five of the seven left.
        expect(await admission.admit(request({ bucket: "phone", guesses: { limit: 12 } }))).toMatchObject({ reservedGuesses: 5 });

        await fixture.elapse(retryAfter(early) + 20);
        expect(await admission.admit(first)).toEqual({
          status: "admitted",
          sendNumber: 2,
          nextSendInMs: 200,
          reservedGuesses: 2,
        });
        expectRetry(await admission.admit(first), "too_soon", 150, 200);
      });

      it("doubles the wait for each send up to maxResendDelayMs", async () => {
        const capped = request({ sends: { limit: 10, firstResendDelayMs: 20, maxResendDelayMs: 50 } });
        const waits: number[] = [];
        for (let send = 1; send <= 4; send += 1) {
          const result = await admission.admit(capped);
          expect(result).toMatchObject({ status: "admitted", sendNumber: send });
          const wait = result.status === "admitted" ? result.nextSendInMs : 0;
          waits.push(wait);
          await fixture.elapse(wait + 15);
        }
        expect(waits).toEqual([20, 40, 50, 50]);
      });

      it("refuses past the limit until the window, fixed from the first send, ends", async () => {
        const limited = request({ sends: { limit: 2, windowMs: 300, ...noWait } });
        expect(await admission.admit(limited)).toMatchObject({ status: "admitted", sendNumber: 1, nextSendInMs: 0 });
        const second = await admission.admit(limited);
        expect(second).toMatchObject({ status: "admitted", sendNumber: 2 });
        // The window is now full: the next send comes when it ends.
        const nextSendInMs = second.status === "admitted" ? second.nextSendInMs : 0;
        expect(nextSendInMs).toBeGreaterThan(200);
        expect(nextSendInMs).toBeLessThanOrEqual(300);
        const full = await admission.admit(limited);
        expectRetry(full, "send_limit", 200, 300);
        expectRetry(await admission.admit(limited), "send_limit", 200, retryAfter(full));

        await fixture.elapse(retryAfter(full) + 30);
        expect(await admission.admit(limited)).toMatchObject({ status: "admitted", sendNumber: 1 });
      });

      it("keeps buckets and scopes apart for sends, but buckets of a scope share the guess budget", async () => {
        const once = (bucket: string, scope = "scope-a") =>
          request({ scope, bucket, sends: { limit: 1 }, guesses: { limit: 10, reserve: 4 } });
        expect(await admission.admit(once("email"))).toMatchObject({ status: "admitted", sendNumber: 1, reservedGuesses: 4 });
        expect((await admission.admit(once("email"))).status).toBe("send_limit");
        expect(await admission.admit(once("phone"))).toMatchObject({ status: "admitted", sendNumber: 1, reservedGuesses: 4 });
        // Only two guesses remain: that is all the third verification may use.
        expect(await admission.admit(once("totp"))).toMatchObject({ status: "admitted", sendNumber: 1, reservedGuesses: 2 });
        expect((await admission.admit(once("push"))).status).toBe("guess_budget");
        expect(await admission.admit(once("email", "scope-b"))).toMatchObject({ status: "admitted", reservedGuesses: 4 });
      });
    });

    describe("refunds of a failed send", () => {
      it("gives back a first send: no resend wait, the window starts over, the guesses return", async () => {
        const once = request({ sends: { limit: 1 }, guesses: { limit: 5, reserve: 5 } });
        expect(await admission.admit(once)).toMatchObject({ status: "admitted", sendNumber: 1, reservedGuesses: 5 });
        await admission.refund("scope-a", "email", { guesses: 5, sendNumber: 1 });
        expect(await admission.admit(once)).toMatchObject({ status: "admitted", sendNumber: 1, reservedGuesses: 5 });
      });

      it("gives back a later send and puts back the previous send's time", async () => {
        const resend = request({ sends: { firstResendDelayMs: 100, maxResendDelayMs: 100 } });
        expect(await admission.admit(resend)).toMatchObject({ status: "admitted", sendNumber: 1 });
        await fixture.elapse(120);
        expect(await admission.admit(resend)).toMatchObject({ status: "admitted", sendNumber: 2 });
        // Without the refund this is too soon (100 ms after send 2); with it, send 1 is the last.
        await admission.refund("scope-a", "email", { guesses: 5, sendNumber: 2 });
        expect(await admission.admit(resend)).toMatchObject({ status: "admitted", sendNumber: 2 });
      });

      it("keeps the send when a later one was admitted since, but still gives back the guesses", async () => {
        const quick = request({ sends: { limit: 2, ...noWait }, guesses: { limit: 10, reserve: 5 } });
        expect(await admission.admit(quick)).toMatchObject({ sendNumber: 1, reservedGuesses: 5 });
        expect(await admission.admit(quick)).toMatchObject({ sendNumber: 2, reservedGuesses: 5 });
        await admission.refund("scope-a", "email", { guesses: 5, sendNumber: 1 });
        expect((await admission.admit(quick)).status).toBe("send_limit");
        expect(await admission.admit({ ...quick, bucket: "phone" })).toMatchObject({ status: "admitted", reservedGuesses: 5 });
      });
    });

    describe("guess budget", () => {
      it("refuses once no guess remains, with the budget window's time left, charging no send", async () => {
        const spend = (bucket: string) =>
          request({ bucket, sends: { limit: 2, ...noWait }, guesses: { limit: 3, windowMs: 300, reserve: 3 } });
        expect(await admission.admit(spend("email"))).toMatchObject({ status: "admitted", reservedGuesses: 3 });
        expectRetry(await admission.admit(spend("email")), "guess_budget", 200, 300);
        expectRetry(await admission.admit(spend("phone")), "guess_budget", 200, 300);
        await refundGuesses("scope-a", 3);
        // The refused send was not counted: this is the second, not the third.
        expect(await admission.admit(spend("email"))).toMatchObject({ status: "admitted", sendNumber: 2, reservedGuesses: 3 });
      });

      it("takes refunds back into the budget, never below zero", async () => {
        const reserveSix = (bucket: string) => request({ bucket, sends: { limit: 1 }, guesses: { limit: 10, reserve: 6 } });
        expect(await admission.admit(reserveSix("email"))).toMatchObject({ reservedGuesses: 6 });
        expect(await admission.admit(reserveSix("phone"))).toMatchObject({ reservedGuesses: 4 });
        expect((await admission.admit(reserveSix("totp"))).status).toBe("guess_budget");
        await refundGuesses("scope-a", 5);
        expect(await admission.admit(reserveSix("totp"))).toMatchObject({ status: "admitted", reservedGuesses: 5 });
        await refundGuesses("scope-a", 100);
        await refundGuesses("scope-a", 0);
        expect(await admission.admit(reserveSix("push"))).toMatchObject({ status: "admitted", reservedGuesses: 6 });
        expect(await admission.admit(reserveSix("other"))).toMatchObject({ status: "admitted", reservedGuesses: 4 });
        // Nothing to refund: harmless, and no credit is created that a later send could draw on.
        await refundGuesses("scope-b", 3);
        const fresh = (bucket: string) => request({ scope: "scope-b", bucket, guesses: { limit: 10, reserve: 6 } });
        expect(await admission.admit(fresh("email"))).toMatchObject({ reservedGuesses: 6 });
        expect(await admission.admit(fresh("phone"))).toMatchObject({ reservedGuesses: 4 });
      });

      it("counts the same reservations against a long window, which refuses after the short one has ended", async () => {
        const both = (bucket: string) =>
          request({ bucket, sends: noWait, guesses: { limit: 10, windowMs: 100, reserve: 4, long: { limit: 6, windowMs: 60_000 } } });
        expect(await admission.admit(both("email"))).toMatchObject({ status: "admitted", reservedGuesses: 4 });
        // The short window has six left, the long one two: the fewer is what the send may use.
        expect(await admission.admit(both("phone"))).toMatchObject({ status: "admitted", reservedGuesses: 2 });
        expectRetry(await admission.admit(both("totp")), "guess_budget", 59_000, 60_000);
        await fixture.elapse(150);
        expectRetry(await admission.admit(both("totp")), "guess_budget", 58_000, 60_000);
        // A refund gives back to the long window too (the short one it was charged in has ended).
        await refundGuesses("scope-a", 2);
        expect(await admission.admit(both("totp"))).toMatchObject({ status: "admitted", reservedGuesses: 2 });
      });
    });

    describe("consecutive wrong guesses", () => {
      const streak = { limit: 3, windowMs: 300 };
      const send = (scope = "scope-a") => request({ scope, sends: { limit: 10, ...noWait }, guesses: { streak } });
      const wrong = async (times: number, scope = "scope-a") => {
        for (let i = 0; i < times; i += 1) await admission.recordGuess(scope, "wrong", streak.windowMs);
      };

      it("refuses at the ceiling of wrong guesses in a row, charging nothing, until a right guess ends the run", async () => {
        await wrong(2);
        expect(await admission.admit(send())).toMatchObject({ status: "admitted", sendNumber: 1 });
        await wrong(1);
        expectRetry(await admission.admit(send()), "guess_streak", 200, 300);
        // Another destination's run is its own.
        expect(await admission.admit(send("scope-b"))).toMatchObject({ status: "admitted", sendNumber: 1 });
        await admission.recordGuess("scope-a", "right", streak.windowMs);
        // The refused send was not counted: this is the second.
        expect(await admission.admit(send())).toMatchObject({ status: "admitted", sendNumber: 2 });
        await wrong(2);
        expect((await admission.admit(send())).status).toBe("admitted");
      });

      it("ends a run when the window after its last failure passes", async () => {
        await wrong(2);
        await fixture.elapse(200);
        // The third failure restarts the window: 300 ms from now, not from the first.
        await wrong(1);
        await fixture.elapse(150);
        expectRetry(await admission.admit(send()), "guess_streak", 50, 150);
        await fixture.elapse(200);
        expect(await admission.admit(send())).toMatchObject({ status: "admitted", sendNumber: 1 });
      });
    });

    describe("idempotency", () => {
      const keyed = (fingerprint: string, overrides: Overrides = {}) =>
        request({ ...overrides, idempotency: { key: "idem-1", fingerprint, ttlMs: 60_000 } });

      it("answers in_progress while pending, replays after completion, and conflicts on another fingerprint", async () => {
        expect((await admission.admit(keyed("fp-1"))).status).toBe("admitted");
        expect(await admission.admit(keyed("fp-1"))).toEqual({ status: "in_progress" });
        expect(await admission.admit(keyed("fp-2"))).toEqual({ status: "conflict" });
        await admission.completeIdempotency("scope-a", "idem-1", "fp-1", "the answer ✓", 60_000);
        expect(await admission.admit(keyed("fp-1"))).toEqual({ status: "replay", answer: "the answer ✓" });
        expect(await admission.admit(keyed("fp-2"))).toEqual({ status: "conflict" });
        // Keys belong to their scope.
        expect((await admission.admit(keyed("fp-2", { scope: "scope-b" }))).status).toBe("admitted");
      });

      it("charges nothing for replay, in_progress or conflict", async () => {
        const tight = { sends: { limit: 2, ...noWait }, guesses: { limit: 4, reserve: 2 } };
        expect(await admission.admit(keyed("fp-1", tight))).toMatchObject({ status: "admitted", sendNumber: 1 });
        for (let i = 0; i < 3; i += 1) {
          expect((await admission.admit(keyed("fp-1", tight))).status).toBe("in_progress");
          expect((await admission.admit(keyed("fp-2", tight))).status).toBe("conflict");
        }
        await admission.completeIdempotency("scope-a", "idem-1", "fp-1", "answer", 60_000);
        for (let i = 0; i < 3; i += 1) expect((await admission.admit(keyed("fp-1", tight))).status).toBe("replay");
        expect(await admission.admit(request(tight))).toEqual({
          status: "admitted",
          sendNumber: 2,
          nextSendInMs: expect.any(Number),
          reservedGuesses: 2,
        });
      });

      it("forgets a released pending key so a retry runs again, but keeps a completed answer", async () => {
        const again = { sends: noWait };
        await admission.admit(keyed("fp-1", again));
        await admission.releaseIdempotency("scope-a", "idem-1", "fp-2");
        expect((await admission.admit(keyed("fp-1", again))).status).toBe("in_progress");
        await admission.releaseIdempotency("scope-a", "idem-1", "fp-1");
        expect(await admission.admit(keyed("fp-1", again))).toMatchObject({ status: "admitted", sendNumber: 2 });
        await admission.completeIdempotency("scope-a", "idem-1", "fp-1", "answer", 60_000);
        await admission.releaseIdempotency("scope-a", "idem-1", "fp-1");
        expect(await admission.admit(keyed("fp-1", again))).toEqual({ status: "replay", answer: "answer" });
      });

      it("does not mark the key when the send is refused", async () => {
        await admission.admit(request({ sends: { limit: 1 } }));
        expect((await admission.admit(keyed("fp-1", { sends: { limit: 1 } }))).status).toBe("send_limit");
        expect((await admission.admit(keyed("fp-1", { bucket: "phone" }))).status).toBe("admitted");
      });

      it("ignores a completion with another fingerprint", async () => {
        await admission.admit(keyed("fp-1"));
        await admission.completeIdempotency("scope-a", "idem-1", "fp-2", "not mine", 60_000);
        expect(await admission.admit(keyed("fp-1"))).toEqual({ status: "in_progress" });
      });
    });

    describe("expiry", () => {
      it("forgets windows, budgets and idempotency keys when they end; completion keeps the key's expiry", async () => {
        const short = {
          sends: { limit: 1, windowMs: 200 },
          guesses: { limit: 2, windowMs: 200, reserve: 2 },
          idempotency: { key: "idem-1", fingerprint: "fp-1", ttlMs: 200 },
        };
        expect(await admission.admit(request(short))).toMatchObject({ status: "admitted", reservedGuesses: 2 });
        await admission.completeIdempotency("scope-a", "idem-1", "fp-1", "answer", 60_000);
        expect((await admission.admit(request({ ...short, idempotency: undefined, bucket: "phone" }))).status).toBe(
          "guess_budget",
        );
        await fixture.elapse(250);
        // A replay had the idempotency key outlived its 200 ms; a full window would refuse.
        expect(await admission.admit(request(short))).toMatchObject({ status: "admitted", sendNumber: 1, reservedGuesses: 2 });
      });

      it("stores a completion afresh when its pending key expired meanwhile", async () => {
        const idempotency = { key: "idem-1", fingerprint: "fp-1", ttlMs: 50 };
        await admission.admit(request({ idempotency }));
        await fixture.elapse(80);
        await admission.completeIdempotency("scope-a", "idem-1", "fp-1", "answer", 60_000);
        expect(await admission.admit(request({ idempotency }))).toEqual({ status: "replay", answer: "answer" });
      });
    });

    describe("concurrency", () => {
      it("admits exactly the limit of 20 concurrent sends", async () => {
        const admissions = await instances(4);
        const limited = request({ sends: { limit: 5, ...noWait } });
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => at(admissions, i).admit(limited)));
        expect(countStatuses(results)).toEqual({ admitted: 5, send_limit: 15 });
        const sendNumbers = results.flatMap((result) => (result.status === "admitted" ? [result.sendNumber] : []));
        expect(sendNumbers.sort()).toEqual([1, 2, 3, 4, 5]);
      });

      it("admits one of 20 concurrent requests with the same idempotency key", async () => {
        const admissions = await instances(4);
        const keyed = request({ sends: noWait, idempotency: { key: "idem-1", fingerprint: "fp-1", ttlMs: 60_000 } });
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => at(admissions, i).admit(keyed)));
        expect(countStatuses(results)).toEqual({ admitted: 1, in_progress: 19 });
      });

      it("reserves no more than the guess budget across concurrent sends of every bucket", async () => {
        const admissions = await instances(4);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            at(admissions, i).admit(request({ bucket: `bucket-${i}`, guesses: { limit: 10, reserve: 3 } })),
          ),
        );
        expect(countStatuses(results)).toEqual({ admitted: 4, guess_budget: 16 });
        const reserved = results.map((result) => (result.status === "admitted" ? result.reservedGuesses : 0));
        expect(reserved.reduce((sum, each) => sum + each, 0)).toBe(10);
      });
    });

    describe("arguments and lifecycle", () => {
      it("refuses work once closed, and closes twice harmlessly", async () => {
        await admission.close();
        await admission.close();
        await expect(admission.admit(request())).rejects.toThrow(/closed/);
        await expect(admission.completeIdempotency("scope-a", "k", "fp", "answer", 60_000)).rejects.toThrow(/closed/);
        await expect(admission.releaseIdempotency("scope-a", "k", "fp")).rejects.toThrow(/closed/);
        await expect(refundGuesses("scope-a", 1)).rejects.toThrow(/closed/);
        await expect(admission.recordGuess("scope-a", "wrong", 60_000)).rejects.toThrow(/closed/);
        await expect(admission.recordConversion(sms({ area: { conversion } }))).rejects.toThrow(/closed/);
      });

      it("rejects arguments that cannot be stored the same way on every backend", async () => {
        const idempotency = (key: string) => ({ key, fingerprint: "fp", ttlMs: 60_000 });
        for (const bad of [
          request({ scope: "" }),
          request({ scope: "a{b" }),
          request({ scope: "a}b" }),
          request({ scope: "s".repeat(129) }),
          request({ bucket: "" }),
          request({ idempotency: idempotency("k".repeat(129)) }),
          request({ idempotency: idempotency("") }),
          request({ idempotency: { key: "k", fingerprint: "", ttlMs: 60_000 } }),
          request({ idempotency: { key: "k", fingerprint: "fp", ttlMs: 0 } }),
          request({ sends: { limit: 0 } }),
          request({ sends: { windowMs: 1.5 } }),
          request({ sends: { firstResendDelayMs: -1 } }),
          request({ guesses: { reserve: 0 } }),
          request({ guesses: { limit: Number.NaN } }),
          request({ guesses: { long: { limit: 0, windowMs: 60_000 } } }),
          request({ guesses: { streak: { limit: 3, windowMs: 0.5 } } }),
          ...badTraffic.map((traffic) => request({ traffic })),
        ]) {
          await expect(admission.admit(bad)).rejects.toThrow(RangeError);
        }
        await expect(refundGuesses("scope-a", -1)).rejects.toThrow(RangeError);
        await expect(admission.refund("scope-a", "email", { guesses: 1, sendNumber: 0 })).rejects.toThrow(RangeError);
        await expect(admission.refund("scope-a", "", { guesses: 1, sendNumber: 1 })).rejects.toThrow(RangeError);
        await expect(admission.refund("a{b", "email", { guesses: 1, sendNumber: 1 })).rejects.toThrow(RangeError);
        await expect(admission.completeIdempotency("scope-a", "k", "fp", "answer", 0)).rejects.toThrow(RangeError);
        await expect(admission.releaseIdempotency("scope-a", "k".repeat(129), "fp")).rejects.toThrow(RangeError);
        for (const traffic of badTraffic) {
          await expect(admission.refund("scope-a", "email", { guesses: 1, traffic })).rejects.toThrow(RangeError);
          await expect(admission.recordConversion(traffic)).rejects.toThrow(RangeError);
        }
        await expect(admission.recordGuess("a{b", "wrong", 60_000)).rejects.toThrow(RangeError);
        await expect(admission.recordGuess("scope-a", "maybe" as "wrong", 60_000)).rejects.toThrow(RangeError);
        await expect(admission.recordGuess("scope-a", "wrong", 0)).rejects.toThrow(RangeError);
        // Nothing was charged by the rejected calls; the longest allowed key works.
        expect(await admission.admit(request({ idempotency: idempotency("k".repeat(128)) }))).toMatchObject({
          status: "admitted",
          sendNumber: 1,
          reservedGuesses: 5,
        });
      });
    });

    describeTrafficContract(() => ({ fixture, admission }));
  });
}

const conversion = { windowMs: 60_000, minRatio: 0.5, prefixMinSends: 3, countryMinSends: 10 };

/** Traffic no backend may take: each breaks one rule of sendLimitArguments.ts. */
const badTraffic = [
  { channel: "" },
  { channel: "s{ms" },
  { channel: "sms:GB" },
  { channel: "c".repeat(129) },
  sms({ global: { limit: 0, windowMs: 1_000 } }),
  sms({ area: { country: "" } }),
  sms({ area: { country: "G}B" } }),
  sms({ area: { prefix: "" } }),
  sms({ area: { prefixLimit: { limit: 1, windowMs: -1 } } }),
  sms({ area: { countryLimit: { limit: 1.5, windowMs: 1_000 } } }),
  sms({ area: { spend: { cost: 0, hourly: 10 } } }),
  sms({ area: { spend: { cost: 1, daily: Number.NaN } } }),
  sms({ area: { conversion: { ...conversion, minRatio: 1.5 } } }),
  sms({ area: { conversion: { ...conversion, minRatio: -0.1 } } }),
  sms({ area: { conversion: { ...conversion, minRatio: Number.NaN } } }),
  sms({ area: { conversion: { ...conversion, prefixMinSends: 0 } } }),
  sms({ area: { conversion: { ...conversion, windowMs: 0 } } }),
];
