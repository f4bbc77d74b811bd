import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryPendingSecrets } from "../../../src/storage/memory/memoryPendingSecrets.js";
import { describePendingSecretsContract, message } from "../pendingSecrets.contract.js";

describePendingSecretsContract("MemoryPendingSecrets", async () => {
  // A clock of its own per test: waits are steps, so the suite does not sleep.
  let time = 1_000_000;
  const queuedShards: number[] = [];
  const store = new MemoryPendingSecrets({ now: () => time, sweepIntervalMs: 0, onQueued: (shard) => queuedShards.push(shard) });
  return {
    store,
    // One process has one map: a "second instance" is the same store, and every relay the same queue.
    peer: async () => store,
    queue: async () => store.messages,
    queuedShards,
    elapse: async (ms) => {
      time += ms;
    },
    close: async () => undefined,
  };
});

describe("MemoryPendingSecrets with a fake clock", () => {
  let time = 1_000_000;
  const now = () => time;
  const stores: MemoryPendingSecrets[] = [];
  const open = (sweepIntervalMs = 0) => {
    const store = new MemoryPendingSecrets({ now, sweepIntervalMs });
    stores.push(store);
    return store;
  };

  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it("expires exactly at the TTL", async () => {
    const store = open();
    await store.put("s", { hash: "h", maxAttempts: 1, data: "" }, 1_000);
    time += 999;
    expect(await store.peek("s")).not.toBeNull();
    time += 1;
    expect(await store.peek("s")).toBeNull();
  });

  it("reports the remaining TTL of a secret", async () => {
    const store = open();
    await store.put("s", { hash: "h", maxAttempts: 1, data: "" }, 5_000);
    time += 1_500;
    expect((await store.peek("s"))?.ttlMs).toBe(3_500);
  });

  it("drops expired entries nobody reads again", async () => {
    const store = open();
    for (let i = 0; i < 100; i += 1) await store.put(`s${i}`, { hash: "h", maxAttempts: 1, data: "" }, 1_000);
    await store.put("kept", { hash: "h", maxAttempts: 1, data: "" }, 10_000);
    time += 1_000;
    expect(store.size).toBe(101);
    expect(store.sweep()).toBe(100);
    expect(store.size).toBe(1);
  });

  it("sweeps on a timer", async () => {
    vi.useFakeTimers();
    const store = open(1_000);
    await store.put("s", { hash: "h", maxAttempts: 1, data: "" }, 500);
    time += 500;
    vi.advanceTimersByTime(1_000);
    expect(store.size).toBe(0);
  });

  it("lets the queue forget messages whose secrets are gone", async () => {
    const store = open();
    await store.put("gone", { hash: "h", maxAttempts: 1, data: "" }, 1_000, { message: message("m1") });
    await store.put("kept", { hash: "h", maxAttempts: 1, data: "" }, 10_000, { message: message("m2") });
    time += 1_000;
    expect(store.messages.size).toBe(2);
    await store.messages.tidy();
    expect(store.messages.size).toBe(1);
  });
});
