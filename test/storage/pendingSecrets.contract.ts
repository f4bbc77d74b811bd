import { createHmac, randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AttemptRecord, ClaimedMessage, MessageQueue } from "../../src/delivery/messageQueue.js";
import type { QueuedMessage } from "../../src/domain/messages/messageDelivery.js";
import type { PendingSecrets } from "../../src/domain/secrets/pendingSecrets.js";
import { secretShard } from "../../src/storage/secretShards.js";

/** What a backend's test file hands the contract. */
export interface PendingSecretsFixture {
  /** A store over fresh, empty state. */
  readonly store: PendingSecrets;
  /**
   * Another store on the same state, as a second instance of the service would hold (its own
   * connection, where the backend has connections). The in-process store returns itself.
   */
  peer(): Promise<PendingSecrets>;
  /**
   * The queue of the messages put with these secrets, as one relay sees it; each call is another
   * relay (its own consumer, where the backend has them) on the same state.
   */
  queue(): Promise<MessageQueue>;
  /** Shards reported by the store's onQueued, in order. */
  readonly queuedShards: readonly number[];
  /** Lets time pass on the backend's clock: a controllable clock in memory, a real wait on Redis. */
  elapse(ms: number): Promise<void>;
  /** Releases what the fixture opened beyond the store. */
  close(): Promise<void>;
}

/**
 * The behaviour every PendingSecrets implementation must show, run against each so the embedded
 * default and Redis cannot drift apart: the secrets (one winner, attempts counted first) and the
 * queue beside them (a message goes out only while its very secret is there).
 */
export function describePendingSecretsContract(name: string, makeFixture: () => Promise<PendingSecretsFixture>): void {
  describe(`${name} (pending secrets contract)`, () => {
    let fixture: PendingSecretsFixture;
    let store: PendingSecrets;
    const opened: PendingSecrets[] = [];

    beforeEach(async () => {
      fixture = await makeFixture();
      store = fixture.store;
      opened.push(store);
    });

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((each) => each.close()));
      await fixture.close();
    });

    /** The store and `count - 1` peers, to spread concurrent calls as several instances would. */
    async function instances(count: number): Promise<PendingSecrets[]> {
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
        expect(await store.put("s", secret("123456", 5, '{"a":"é ✓"}'), 60_000)).toBe(true);
        const state = await store.peek("s");
        expect(state).toEqual({ attempts: 0, maxAttempts: 5, data: '{"a":"é ✓"}', ttlMs: expect.any(Number) });
        expect(state?.ttlMs).toBeGreaterThan(59_000);
        expect(state?.ttlMs).toBeLessThanOrEqual(60_000);
        expect((await store.peek("s"))?.attempts).toBe(0);
      });

      it("is consumed exactly once by the right hash", async () => {
        await store.put("s", secret("123456"), 60_000);
        const taken = await store.take("s", hashOf("123456"));
        // With what putting it back takes: its limit and the time it had left.
        expect(taken).toEqual({ status: "consumed", attempts: 1, data: '{"purpose":"test"}', maxAttempts: 3, ttlMs: expect.any(Number) });
        expect(taken.status === "consumed" && taken.ttlMs).toBeGreaterThan(59_000);
        expect(taken.status === "consumed" && taken.ttlMs).toBeLessThanOrEqual(60_000);
        expect(await store.take("s", hashOf("123456"))).toEqual({ status: "missing" });
        expect(await store.peek("s")).toBeNull();
      });

      it("counts mismatches and reports the attempts left", async () => {
        await store.put("s", secret("123456", 3), 60_000);
        const data = '{"purpose":"test"}';
        expect(await store.take("s", hashOf("000000"))).toEqual({ status: "mismatch", attempts: 1, attemptsLeft: 2, data });
        expect(await store.take("s", hashOf("111111"))).toEqual({ status: "mismatch", attempts: 2, attemptsLeft: 1, data });
        expect((await store.peek("s"))?.attempts).toBe(2);
        expect(await store.take("s", hashOf("123456"))).toMatchObject({ status: "consumed", attempts: 3, data, maxAttempts: 3 });
      });

      it("locks after maxAttempts, even for the right hash", async () => {
        await store.put("s", secret("123456", 2), 60_000);
        await store.take("s", hashOf("000000"));
        expect(await store.take("s", hashOf("000001"))).toMatchObject({ status: "mismatch", attemptsLeft: 0 });
        expect(await store.take("s", hashOf("123456"))).toMatchObject({ status: "locked", attempts: 3 });
        expect(await store.take("s", hashOf("123456"))).toMatchObject({ status: "locked", attempts: 4 });
        expect(await store.peek("s")).toMatchObject({ attempts: 4, maxAttempts: 2 });
      });

      it("treats guesses of another length as mismatches", async () => {
        await store.put("s", secret("123456", 10), 60_000);
        const hash = hashOf("123456");
        for (const guess of ["", hash.slice(0, -1), `${hash}x`, hash.toUpperCase()]) {
          expect((await store.take("s", guess)).status).toBe("mismatch");
        }
        expect((await store.take("s", hash)).status).toBe("consumed");
      });

      it("answers missing for a key never written", async () => {
        expect(await store.take("nothing", hashOf("1"))).toEqual({ status: "missing" });
        expect(await store.peek("nothing")).toBeNull();
        expect(await store.revoke("nothing")).toBe(false);
      });

      it("replaces a secret and its attempts unless ifAbsent", async () => {
        await store.put("s", secret("111111"), 60_000);
        await store.take("s", hashOf("000000"));
        expect(await store.put("s", secret("222222"), 60_000, { ifAbsent: true })).toBe(false);
        expect((await store.peek("s"))?.attempts).toBe(1);
        expect(await store.put("s", secret("222222"), 60_000)).toBe(true);
        expect((await store.peek("s"))?.attempts).toBe(0);
        expect((await store.take("s", hashOf("111111"))).status).toBe("mismatch");
        expect((await store.take("s", hashOf("222222"))).status).toBe("consumed");
      });

      it("deletes", async () => {
        await store.put("s", secret("123456"), 60_000);
        expect(await store.revoke("s")).toBe(true);
        expect(await store.take("s", hashOf("123456"))).toEqual({ status: "missing" });
      });

      it("revokes on condition only the secret holding exactly the data given", async () => {
        await store.put("s", secret("123456", 3, "sealed-by-a"), 60_000);
        // A caller undoing its own put must not remove what another put stored meanwhile.
        expect(await store.revoke("s", { data: "sealed-by-b" })).toBe(false);
        expect(await store.revoke("s", { data: "sealed-by-" })).toBe(false);
        expect((await store.peek("s"))?.data).toBe("sealed-by-a");
        expect(await store.revoke("s", { data: "sealed-by-a" })).toBe(true);
        expect(await store.peek("s")).toBeNull();
        expect(await store.revoke("s", { data: "sealed-by-a" })).toBe(false);
        expect(await store.revoke("nothing", { data: "" })).toBe(false);
      });

      it("expires, and attempts do not extend the expiry", async () => {
        await store.put("short", secret("123456"), 150);
        await store.put("guessed", secret("123456"), 250);
        await fixture.elapse(100);
        expect((await store.take("guessed", hashOf("000000"))).status).toBe("mismatch");
        expect((await store.peek("guessed"))?.ttlMs).toBeLessThanOrEqual(150);
        await fixture.elapse(200);
        expect(await store.take("short", hashOf("123456"))).toEqual({ status: "missing" });
        expect(await store.peek("short")).toBeNull();
        expect(await store.take("guessed", hashOf("123456"))).toEqual({ status: "missing" });
        expect(await store.put("short", secret("654321"), 60_000, { ifAbsent: true })).toBe(true);
      });
    });

    describe("concurrency", () => {
      it("of 100 concurrent takes of one code, exactly one wins", async () => {
        await store.put("s", secret("123456", 3), 60_000);
        const stores = await instances(4);
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => at(stores, i).take("s", hashOf("123456"))),
        );
        expect(countStatuses(results)).toEqual({ consumed: 1, missing: 99 });
      });

      it("allows at most maxAttempts of 50 concurrent wrong guesses to be compared", async () => {
        await store.put("s", secret("123456", 5), 60_000);
        const stores = await instances(4);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => at(stores, i).take("s", hashOf(`wrong-${i}`))),
        );
        expect(countStatuses(results)).toEqual({ mismatch: 5, locked: 45 });
        expect((await store.take("s", hashOf("123456"))).status).toBe("locked");
      });

      it("lets exactly one concurrent ifAbsent put win", async () => {
        const stores = await instances(4);
        const written = await Promise.all(
          Array.from({ length: 20 }, (_, i) => at(stores, i).put("s", secret(`${i}`), 60_000, { ifAbsent: true })),
        );
        expect(written.filter(Boolean)).toHaveLength(1);
      });
    });

    describe("the queue beside the secrets", () => {
      const lease = 60_000;
      const sent: AttemptRecord = { status: "sent" };
      const ids = (claimed: readonly ClaimedMessage[]) => claimed.map((each) => each.id).sort();

      it("hands out a message put with its secret, with what the relay needs, once", async () => {
        const queue = await fixture.queue();
        const queued = message("m1", { template: "verification", reference: "v-1" });
        expect(await store.put("s", secret("123456"), 60_000, { message: queued })).toBe(true);
        expect(fixture.queuedShards).toEqual([secretShard("s")]);
        const [claimed, ...rest] = await queue.claim(10, lease);
        expect(rest).toEqual([]);
        expect(claimed).toMatchObject({
          id: "m1",
          kind: "email",
          template: "verification",
          reference: "v-1",
          payload: queued.sealedPayload,
          attempt: 1,
          maxAttempts: 3,
        });
        expect(claimed!.expiresAt.getTime() - Date.now()).toBeGreaterThan(55_000);
        expect(claimed!.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(60_500);
        expect(await queue.claim(10, lease)).toEqual([]);
        expect((await queue.record([{ message: claimed!, outcome: sent }])).recorded).toEqual(new Set(["m1"]));
        expect(await queue.claim(10, lease)).toEqual([]);
        // Sending does not consume the secret.
        expect((await store.take("s", hashOf("123456"))).status).toBe("consumed");
      });

      it("queues nothing for a secret put without a message, or refused by ifAbsent", async () => {
        const queue = await fixture.queue();
        await store.put("plain", secret("1"), 60_000);
        await store.put("s", secret("1"), 60_000);
        expect(await store.put("s", secret("2"), 60_000, { ifAbsent: true, message: message("refused") })).toBe(false);
        expect(fixture.queuedShards).toEqual([]);
        expect(await queue.claim(10, lease)).toEqual([]);
      });

      it("never hands out the message of a secret taken, revoked, replaced or expired", async () => {
        const queue = await fixture.queue();
        await store.put("taken", secret("1"), 60_000, { message: message("m-taken") });
        await store.put("revoked", secret("1"), 60_000, { message: message("m-revoked") });
        await store.put("replaced", secret("1"), 60_000, { message: message("m-old") });
        await store.put("replaced", secret("2"), 60_000, { message: message("m-new") });
        await store.put("bare", secret("1"), 60_000, { message: message("m-bare") });
        await store.put("bare", secret("2"), 60_000);
        await store.put("expired", secret("1"), 100, { message: message("m-expired") });
        await store.put("kept", secret("1"), 60_000, { message: message("m-kept") });
        expect((await store.take("taken", hashOf("1"))).status).toBe("consumed");
        expect(await store.revoke("revoked")).toBe(true);
        await fixture.elapse(200);
        expect(ids(await queue.claim(20, lease))).toEqual(["m-kept", "m-new"]);
        expect(await queue.claim(20, lease)).toEqual([]);
      });

      it("records nothing for a message whose code was used while it was being sent, and calls it no takeover", async () => {
        const queue = await fixture.queue();
        await store.put("s", secret("1"), 60_000, { message: message("m1") });
        const [claimed] = await queue.claim(10, lease);
        // The code is checked before its message went out: common, and no relay's fault.
        expect((await store.take("s", hashOf("1"))).status).toBe("consumed");
        const { takenOver } = await queue.record([{ message: claimed!, outcome: sent }]);
        expect(takenOver).toEqual(new Set());
        expect(await queue.claim(10, lease)).toEqual([]);
      });

      it("drops a message whose secret went between its retry and the next claim", async () => {
        const queue = await fixture.queue();
        await store.put("s", secret("1"), 60_000, { message: message("m1") });
        const [claimed] = await queue.claim(10, lease);
        await queue.record([{ message: claimed!, outcome: { status: "retry", reason: "451", delayMs: 1 } }]);
        await store.revoke("s");
        await fixture.elapse(50);
        expect(await queue.claim(10, lease)).toEqual([]);
      });

      it("hands a retry out again once it is due, as the next attempt", async () => {
        const queue = await fixture.queue();
        await store.put("s", secret("1"), 60_000, { message: message("m1") });
        const [first] = await queue.claim(10, lease);
        expect((await queue.record([{ message: first!, outcome: { status: "retry", reason: "451", delayMs: 300 } }])).recorded).toEqual(new Set(["m1"]));
        expect(await queue.claim(10, lease)).toEqual([]);
        await fixture.elapse(400);
        const [second] = await queue.claim(10, lease);
        expect(second).toMatchObject({ id: "m1", attempt: 2, payload: first!.payload });
        await queue.record([{ message: second!, outcome: { status: "dead", reason: "gave up" } }]);
        await fixture.elapse(400);
        expect(await queue.claim(10, lease)).toEqual([]);
      });

      it("finishes a message on dead and on expired, as on sent", async () => {
        const queue = await fixture.queue();
        await store.put("a", secret("1"), 60_000, { message: message("ma") });
        await store.put("b", secret("1"), 60_000, { message: message("mb") });
        const claimed = await queue.claim(10, lease);
        const recorded = await queue.record([
          { message: claimed[0]!, outcome: { status: "dead", reason: "550" } },
          { message: claimed[1]!, outcome: { status: "expired", reason: "too late" } },
        ]);
        expect([...recorded.recorded].sort()).toEqual(["ma", "mb"]);
        expect(await queue.claim(10, lease)).toEqual([]);
      });

      it("gives a dead relay's claim to another after the lease, and fences the dead relay off", async () => {
        const crashed = await fixture.queue();
        const healthy = await fixture.queue();
        await store.put("s", secret("1"), 60_000, { message: message("m1") });
        // A lease of a second: on a loaded machine 200 ms could pass between two calls.
        const [lost] = await crashed.claim(10, 1_000);
        expect(await healthy.claim(10, 1_000)).toEqual([]);
        await fixture.elapse(1_100);
        const [taken] = await healthy.claim(10, 1_000);
        // The unrecorded claim counts as an attempt.
        expect(taken).toMatchObject({ id: "m1", attempt: 2 });
        // Not recorded, and said to be another relay's now: the message may have gone twice.
        expect(await crashed.record([{ message: lost!, outcome: sent }])).toEqual({ recorded: new Set(), takenOver: new Set(["m1"]) });
        expect(await healthy.record([{ message: taken!, outcome: sent }])).toEqual({ recorded: new Set(["m1"]), takenOver: new Set() });
        await fixture.elapse(1_100);
        expect(await crashed.claim(10, 1_000)).toEqual([]);
      });

      it("reports what waits and since when, until it is sent", async () => {
        const queue = await fixture.queue();
        expect(await queue.backlog()).toEqual({ waiting: 0, oldestQueuedAt: null });
        await store.put("b0", secret("1"), 60_000, { message: message("mb0") });
        const first = await queue.backlog();
        expect(first.oldestQueuedAt).toBeInstanceOf(Date);
        await fixture.elapse(20);
        for (let i = 1; i < 3; i++) await store.put(`b${i}`, secret("1"), 60_000, { message: message(`mb${i}`) });
        // The queue's own clock (Redis's, or a test clock): later messages leave the oldest as it was.
        expect(await queue.backlog()).toEqual({ waiting: 3, oldestQueuedAt: first.oldestQueuedAt });
        const claimed = await queue.claim(10, lease);
        expect((await queue.backlog()).waiting).toBe(3);
        await queue.record(claimed.map((each) => ({ message: each, outcome: sent })));
        expect(await queue.backlog()).toEqual({ waiting: 0, oldestQueuedAt: null });
      });

      it("claims no more than asked, and the rest later", async () => {
        const queue = await fixture.queue();
        for (let i = 0; i < 25; i++) await store.put(`k${i}`, secret("1"), 60_000, { message: message(`m${i}`) });
        const first = await queue.claim(10, lease);
        const second = await queue.claim(10, lease);
        const third = await queue.claim(10, lease);
        expect([first.length, second.length, third.length]).toEqual([10, 10, 5]);
        expect(new Set([...first, ...second, ...third].map((each) => each.id)).size).toBe(25);
      });

      it("reads past entries whose secret is gone, so they do not hide a live one behind them", async () => {
        const queue = await fixture.queue();
        const shard = secretShard("live");
        const sameShard = Array.from({ length: 2_000 }, (_, i) => `dead:${i}`).filter((key) => secretShard(key) === shard).slice(0, 60);
        expect(sameShard).toHaveLength(60);
        for (const key of sameShard) await store.put(key, secret("1"), 50, { message: message(`m-${key}`) });
        await fixture.elapse(100);
        await store.put("live", secret("1"), 60_000, { message: message("m-live") });
        expect(ids(await queue.claim(20, lease, new Set([shard])))).toEqual(["m-live"]);
      });

      it("looks at no more than ten entries per message asked for in one claim, and carries on at the next", async () => {
        const queue = await fixture.queue();
        const shard = secretShard("live");
        const sameShard = Array.from({ length: 1_000 }, (_, i) => `dead:${i}`).filter((key) => secretShard(key) === shard).slice(0, 25);
        for (const key of sameShard) await store.put(key, secret("1"), 50, { message: message(`m-${key}`) });
        await fixture.elapse(100);
        await store.put("live", secret("1"), 60_000, { message: message("m-live") });
        // 20 looked at, all dead; the next claim starts where this one stopped.
        expect(await queue.claim(2, lease, new Set([shard]))).toEqual([]);
        expect(ids(await queue.claim(2, lease, new Set([shard])))).toEqual(["m-live"]);
      });

      it("claims only in the partitions asked for, when asked", async () => {
        const queue = await fixture.queue();
        await store.put("s", secret("1"), 60_000, { message: message("m1") });
        const shard = secretShard("s");
        expect(await queue.claim(10, lease, new Set([(shard + 1) % 16]))).toEqual([]);
        expect(ids(await queue.claim(10, lease, new Set([shard])))).toEqual(["m1"]);
      });

      it("lets each of many concurrent claims by several relays take a message at most once", async () => {
        const queues = [await fixture.queue(), await fixture.queue(), await fixture.queue()];
        for (let i = 0; i < 40; i++) await store.put(`k${i}`, secret("1"), 60_000, { message: message(`m${i}`) });
        const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => at(queues, i).claim(5, lease)));
        const all = claims.flat().map((each) => each.id);
        expect(all).toHaveLength(40);
        expect(new Set(all).size).toBe(40);
      });

      it("tidies without losing what waits", async () => {
        const queue = await fixture.queue();
        await store.put("s", secret("1"), 60_000, { message: message("m1") });
        await queue.tidy();
        expect(ids(await queue.claim(10, lease))).toEqual(["m1"]);
      });
    });

    describe("arguments and lifecycle", () => {
      it("rejects arguments that cannot be stored the same way on every backend", async () => {
        await expect(store.put("s", secret("1", 0), 60_000)).rejects.toThrow(RangeError);
        await expect(store.put("s", { ...secret("1"), hash: "" }, 60_000)).rejects.toThrow(RangeError);
        await expect(store.put("s", secret("1"), 0)).rejects.toThrow(RangeError);
        await expect(store.put("s", secret("1"), 1.5)).rejects.toThrow(RangeError);
        // Longer than the longest time to live a secret may have (7 days): the Redis queue trims
        // entries older than that.
        await expect(store.put("s", secret("1"), 7 * 86_400_000 + 1)).rejects.toThrow(RangeError);
        await expect(store.put("s", secret("1"), 60_000, { message: { ...message("m"), maxAttempts: 0 } })).rejects.toThrow(RangeError);
        await expect(store.peek("")).rejects.toThrow(RangeError);
        expect(await store.peek("s")).toBeNull();
      });

      it("refuses work once closed, and closes twice harmlessly", async () => {
        await store.close();
        await store.close();
        await expect(store.peek("s")).rejects.toThrow();
        await expect(store.take("s", hashOf("1"))).rejects.toThrow();
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

/** A sealed-looking message; the store never opens it. */
export function message(id: string, extra: Partial<QueuedMessage> = {}): QueuedMessage {
  return { id, kind: "email", sealedPayload: `v1.k1.${randomUUID()}`, maxAttempts: 3, ...extra };
}
