import { createHmac } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TtlStore, WindowResult } from "../../../src/storage/ttl/ttlStore.js";

/** What a backend's test file hands the contract. */
export interface TtlStoreFixture {
  /** A store over fresh, empty state. */
  readonly store: TtlStore;
  /**
   * Another store on the same state, as a second instance of the service would hold (its own
   * connection, where the backend has connections). The in-process store returns itself.
   */
  peer(): Promise<TtlStore>;
}

/**
 * The behaviour every TTL store must show, run against each implementation so the embedded
 * default and Redis cannot drift apart. Expiry uses short real TTLs: the point is that the
 * backend's own clock expires things, which a fake clock on our side cannot show for Redis.
 */
export function describeTtlStoreContract(name: string, makeStore: () => Promise<TtlStoreFixture>): void {
  describe(`${name} (TTL store contract)`, () => {
    let fixture: TtlStoreFixture;
    let store: TtlStore;
    const opened: TtlStore[] = [];

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
      opened.push(store);
    });

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((each) => each.close()));
    });

    /** The store and `count - 1` peers, to spread concurrent calls as several instances would. */
    async function instances(count: number): Promise<TtlStore[]> {
      const all = [store];
      while (all.length < count) {
        const peer = await fixture.peer();
        opened.push(peer);
        all.push(peer);
      }
      return all;
    }

    const secret = (code: string, maxAttempts = 3, data = '{"purpose":"test"}') => ({
      hash: hashOf(code),
      maxAttempts,
      data,
    });

    describe("secrets", () => {
      it("peeks without the hash and without counting an attempt", async () => {
        expect(await store.putSecret("s", secret("123456", 5, '{"a":"é ✓"}'), 60_000)).toBe(true);
        const state = await store.peekSecret("s");
        expect(state).toEqual({ attempts: 0, maxAttempts: 5, data: '{"a":"é ✓"}', ttlMs: expect.any(Number) });
        expect(state?.ttlMs).toBeGreaterThan(59_000);
        expect(state?.ttlMs).toBeLessThanOrEqual(60_000);
        expect((await store.peekSecret("s"))?.attempts).toBe(0);
      });

      it("is consumed exactly once by the right hash", async () => {
        await store.putSecret("s", secret("123456"), 60_000);
        expect(await store.takeSecret("s", hashOf("123456"))).toEqual({
          status: "consumed",
          attempts: 1,
          data: '{"purpose":"test"}',
        });
        expect(await store.takeSecret("s", hashOf("123456"))).toEqual({ status: "missing" });
        expect(await store.peekSecret("s")).toBeNull();
      });

      it("counts mismatches and reports the attempts left", async () => {
        await store.putSecret("s", secret("123456", 3), 60_000);
        const data = '{"purpose":"test"}';
        expect(await store.takeSecret("s", hashOf("000000"))).toEqual({ status: "mismatch", attempts: 1, attemptsLeft: 2, data });
        expect(await store.takeSecret("s", hashOf("111111"))).toEqual({ status: "mismatch", attempts: 2, attemptsLeft: 1, data });
        expect((await store.peekSecret("s"))?.attempts).toBe(2);
        expect(await store.takeSecret("s", hashOf("123456"))).toEqual({ status: "consumed", attempts: 3, data });
      });

      it("locks after maxAttempts, even for the right hash", async () => {
        await store.putSecret("s", secret("123456", 2), 60_000);
        await store.takeSecret("s", hashOf("000000"));
        expect(await store.takeSecret("s", hashOf("000001"))).toMatchObject({ status: "mismatch", attemptsLeft: 0 });
        expect(await store.takeSecret("s", hashOf("123456"))).toMatchObject({ status: "locked", attempts: 3 });
        expect(await store.takeSecret("s", hashOf("123456"))).toMatchObject({ status: "locked", attempts: 4 });
        expect(await store.peekSecret("s")).toMatchObject({ attempts: 4, maxAttempts: 2 });
      });

      it("counts attempts without comparing or consuming, and locks past maxAttempts", async () => {
        await store.putSecret("s", secret("123456", 2), 60_000);
        const data = '{"purpose":"test"}';
        expect(await store.countAttempt("s")).toEqual({ status: "counted", attempts: 1, attemptsLeft: 1, data });
        expect(await store.countAttempt("s")).toEqual({ status: "counted", attempts: 2, attemptsLeft: 0, data });
        expect(await store.countAttempt("s")).toEqual({ status: "locked", attempts: 3, data });
        expect(await store.countAttempt("s")).toEqual({ status: "locked", attempts: 4, data });
        expect(await store.peekSecret("s")).toMatchObject({ attempts: 4, maxAttempts: 2 });
        // Still there, and as locked for a code check as for a count.
        expect(await store.takeSecret("s", hashOf("123456"))).toMatchObject({ status: "locked", attempts: 5 });
      });

      it("shares one attempt counter between countAttempt and takeSecret", async () => {
        await store.putSecret("s", secret("123456", 3), 60_000);
        await store.takeSecret("s", hashOf("000000"));
        expect(await store.countAttempt("s")).toMatchObject({ status: "counted", attempts: 2, attemptsLeft: 1 });
        expect(await store.takeSecret("s", hashOf("123456"))).toMatchObject({ status: "consumed", attempts: 3 });
        expect(await store.countAttempt("s")).toEqual({ status: "missing" });
      });

      it("treats guesses of another length as mismatches", async () => {
        await store.putSecret("s", secret("123456", 10), 60_000);
        const hash = hashOf("123456");
        for (const guess of ["", hash.slice(0, -1), `${hash}x`, hash.toUpperCase()]) {
          expect((await store.takeSecret("s", guess)).status).toBe("mismatch");
        }
        expect((await store.takeSecret("s", hash)).status).toBe("consumed");
      });

      it("answers missing for a key never written", async () => {
        expect(await store.takeSecret("nothing", hashOf("1"))).toEqual({ status: "missing" });
        expect(await store.countAttempt("nothing")).toEqual({ status: "missing" });
        expect(await store.peekSecret("nothing")).toBeNull();
        expect(await store.deleteSecret("nothing")).toBe(false);
      });

      it("replaces a secret and its attempts unless ifAbsent", async () => {
        await store.putSecret("s", secret("111111"), 60_000);
        await store.takeSecret("s", hashOf("000000"));
        expect(await store.putSecret("s", secret("222222"), 60_000, { ifAbsent: true })).toBe(false);
        expect((await store.peekSecret("s"))?.attempts).toBe(1);
        expect(await store.putSecret("s", secret("222222"), 60_000)).toBe(true);
        expect((await store.peekSecret("s"))?.attempts).toBe(0);
        expect((await store.takeSecret("s", hashOf("111111"))).status).toBe("mismatch");
        expect((await store.takeSecret("s", hashOf("222222"))).status).toBe("consumed");
      });

      it("deletes", async () => {
        await store.putSecret("s", secret("123456"), 60_000);
        expect(await store.deleteSecret("s")).toBe(true);
        expect(await store.takeSecret("s", hashOf("123456"))).toEqual({ status: "missing" });
      });

      it("expires, and attempts do not extend the expiry", async () => {
        await store.putSecret("short", secret("123456"), 150);
        await store.putSecret("guessed", secret("123456"), 250);
        await store.putSecret("counted", secret("123456"), 250);
        await sleep(100);
        expect((await store.takeSecret("guessed", hashOf("000000"))).status).toBe("mismatch");
        expect((await store.countAttempt("counted")).status).toBe("counted");
        expect((await store.peekSecret("counted"))?.ttlMs).toBeLessThanOrEqual(150);
        await sleep(200);
        expect(await store.takeSecret("short", hashOf("123456"))).toEqual({ status: "missing" });
        expect(await store.peekSecret("short")).toBeNull();
        expect(await store.takeSecret("guessed", hashOf("123456"))).toEqual({ status: "missing" });
        expect(await store.countAttempt("counted")).toEqual({ status: "missing" });
        expect(await store.putSecret("short", secret("654321"), 60_000, { ifAbsent: true })).toBe(true);
      });
    });

    describe("values", () => {
      it("puts, gets, deletes, honours ifAbsent and expires", async () => {
        expect(await store.getValue("v")).toBeNull();
        expect(await store.putValue("v", "first", 150)).toBe(true);
        expect(await store.putValue("v", "second", 150, { ifAbsent: true })).toBe(false);
        expect(await store.getValue("v")).toBe("first");
        expect(await store.deleteValue("v")).toBe(true);
        expect(await store.deleteValue("v")).toBe(false);
        expect(await store.putValue("v", "third", 150, { ifAbsent: true })).toBe(true);
        await sleep(250);
        expect(await store.getValue("v")).toBeNull();
      });

      it("keeps a value and a secret of the same key apart", async () => {
        await store.putValue("same", "value", 60_000);
        await store.putSecret("same", secret("123456"), 60_000);
        expect(await store.getValue("same")).toBe("value");
        expect((await store.takeSecret("same", hashOf("123456"))).status).toBe("consumed");
        expect(await store.getValue("same")).toBe("value");
      });
    });

    describe("counters", () => {
      it("counts, and expires a fixed time after creation", async () => {
        expect(await store.increment("c", 300)).toBe(1);
        expect(await store.increment("c", 300, 3)).toBe(4);
        await sleep(150);
        expect(await store.increment("c", 300)).toBe(5);
        // Past 300 ms from creation, though only ~200 ms after the last increment.
        await sleep(200);
        expect(await store.increment("c", 300)).toBe(1);
      });
    });

    describe("windows", () => {
      it("fixed: allows up to the limit, denies without recording, resets after the window", async () => {
        const window = { limit: 3, windowMs: 200, kind: "fixed" } as const;
        for (const count of [1, 2, 3]) {
          expect(await store.hitWindow("w", window)).toEqual({ allowed: true, count, retryAfterMs: 0 });
        }
        const denied = await store.hitWindow("w", window);
        expectDenied(denied, 3, 200);
        expectDenied(await store.hitWindow("w", window), 3, denied.retryAfterMs);
        await sleep(denied.retryAfterMs + 30);
        expect(await store.hitWindow("w", window)).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
      });

      it("sliding: frees room as each hit leaves the window", async () => {
        const window = { limit: 2, windowMs: 300, kind: "sliding" } as const;
        expect(await store.hitWindow("w", window)).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
        await sleep(150);
        expect(await store.hitWindow("w", window)).toEqual({ allowed: true, count: 2, retryAfterMs: 0 });
        const denied = await store.hitWindow("w", window);
        // The first hit leaves ~150 ms from now, well before a whole window.
        expectDenied(denied, 2, 200);
        await sleep(denied.retryAfterMs + 30);
        // Only the first hit left; the second still counts.
        expect(await store.hitWindow("w", window)).toEqual({ allowed: true, count: 2, retryAfterMs: 0 });
        expectDenied(await store.hitWindow("w", window), 2, 300);
      });

      it("keeps fixed and sliding windows of the same key apart", async () => {
        await store.hitWindow("w", { limit: 1, windowMs: 60_000, kind: "fixed" });
        expect((await store.hitWindow("w", { limit: 1, windowMs: 60_000, kind: "sliding" })).allowed).toBe(true);
      });
    });

    describe("concurrency", () => {
      it("lets exactly one of 100 concurrent checks of a valid secret consume it", async () => {
        await store.putSecret("s", secret("123456", 3), 60_000);
        const stores = await instances(4);
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => at(stores, i).takeSecret("s", hashOf("123456"))),
        );
        expect(countStatuses(results)).toEqual({ consumed: 1, missing: 99 });
      });

      it("allows at most maxAttempts of 50 concurrent wrong guesses to be compared", async () => {
        await store.putSecret("s", secret("123456", 5), 60_000);
        const stores = await instances(4);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => at(stores, i).takeSecret("s", hashOf(`wrong-${i}`))),
        );
        expect(countStatuses(results)).toEqual({ mismatch: 5, locked: 45 });
        expect((await store.takeSecret("s", hashOf("123456"))).status).toBe("locked");
      });

      it("counts exactly maxAttempts of 50 concurrent attempts, locking the rest", async () => {
        await store.putSecret("s", secret("123456", 5), 60_000);
        const stores = await instances(4);
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => at(stores, i).countAttempt("s")));
        expect(countStatuses(results)).toEqual({ counted: 5, locked: 45 });
        expect((await store.peekSecret("s"))?.attempts).toBe(50);
      });

      it("lets exactly one concurrent ifAbsent put win", async () => {
        const stores = await instances(4);
        const written = await Promise.all(
          Array.from({ length: 20 }, (_, i) => at(stores, i).putSecret("s", secret(`${i}`), 60_000, { ifAbsent: true })),
        );
        expect(written.filter(Boolean)).toHaveLength(1);
      });

      it("loses no increments and admits exactly the limit", async () => {
        const stores = await instances(4);
        const many = <T>(run: (each: TtlStore) => Promise<T>) =>
          Promise.all(Array.from({ length: 50 }, (_, i) => run(at(stores, i))));
        const counts = await many((each) => each.increment("c", 60_000));
        expect(Math.max(...counts)).toBe(50);
        for (const kind of ["fixed", "sliding"] as const) {
          const hits = await many((each) => each.hitWindow("w", { limit: 10, windowMs: 60_000, kind }));
          expect(hits.filter((hit) => hit.allowed)).toHaveLength(10);
        }
      });
    });

    describe("arguments and lifecycle", () => {
      it("rejects arguments that cannot be stored the same way on every backend", async () => {
        await expect(store.putSecret("s", secret("1", 0), 60_000)).rejects.toThrow(RangeError);
        await expect(store.putSecret("s", { ...secret("1"), hash: "" }, 60_000)).rejects.toThrow(RangeError);
        await expect(store.putSecret("s", secret("1"), 0)).rejects.toThrow(RangeError);
        await expect(store.putValue("v", "x", 1.5)).rejects.toThrow(RangeError);
        await expect(store.increment("c", 60_000, 0.5)).rejects.toThrow(RangeError);
        await expect(store.hitWindow("w", { limit: 0, windowMs: 1_000, kind: "fixed" })).rejects.toThrow(RangeError);
        await expect(store.getValue("")).rejects.toThrow(RangeError);
        expect(await store.peekSecret("s")).toBeNull();
      });

      it("refuses work once closed, and closes twice harmlessly", async () => {
        await store.close();
        await store.close();
        await expect(store.getValue("v")).rejects.toThrow();
        await expect(store.takeSecret("s", hashOf("1"))).rejects.toThrow();
        await expect(store.countAttempt("s")).rejects.toThrow();
      });
    });
  });
}

/** As the domain will: a keyed hash, never the code itself. */
function hashOf(code: string): string {
  return createHmac("sha256", "contract-test-key").update(code).digest("base64url");
}

function at<T>(list: readonly T[], index: number): T {
  const item = list[index % list.length];
  if (item === undefined) throw new Error("empty list");
  return item;
}

function countStatuses<S extends string>(results: readonly { readonly status: S }[]): Partial<Record<S, number>> {
  const counts: Partial<Record<S, number>> = {};
  for (const { status } of results) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

function expectDenied(result: WindowResult, count: number, maxRetryAfterMs: number): void {
  expect(result.allowed).toBe(false);
  expect(result.count).toBe(count);
  expect(result.retryAfterMs).toBeGreaterThanOrEqual(1);
  expect(result.retryAfterMs).toBeLessThanOrEqual(maxRetryAfterMs);
}
