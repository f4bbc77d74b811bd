import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryTtlStore } from "../../../src/storage/ttl/memoryTtlStore.js";
import { describeTtlStoreContract } from "./ttlStore.contract.js";

describeTtlStoreContract("MemoryTtlStore", async () => {
  const store = new MemoryTtlStore();
  // One process has one map: a "second instance" is the same store.
  return { store, peer: async () => store };
});

describe("MemoryTtlStore with a fake clock", () => {
  let time = 1_000_000;
  const now = () => time;
  const stores: MemoryTtlStore[] = [];
  const open = (sweepIntervalMs = 0) => {
    const store = new MemoryTtlStore({ now, sweepIntervalMs });
    stores.push(store);
    return store;
  };

  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it("expires exactly at the TTL", async () => {
    const store = open();
    await store.putValue("v", "x", 1_000);
    time += 999;
    expect(await store.getValue("v")).toBe("x");
    time += 1;
    expect(await store.getValue("v")).toBeNull();
  });

  it("reports the remaining TTL of a secret", async () => {
    const store = open();
    await store.putSecret("s", { hash: "h", maxAttempts: 1, data: "" }, 5_000);
    time += 1_500;
    expect((await store.peekSecret("s"))?.ttlMs).toBe(3_500);
  });

  it("computes a sliding window's retryAfterMs from the oldest hit", async () => {
    const store = open();
    const window = { limit: 2, windowMs: 1_000, kind: "sliding" } as const;
    await store.hitWindow("w", window);
    time += 400;
    await store.hitWindow("w", window);
    time += 100;
    expect(await store.hitWindow("w", window)).toEqual({ allowed: false, count: 2, retryAfterMs: 500 });
    time += 500;
    expect(await store.hitWindow("w", window)).toEqual({ allowed: true, count: 2, retryAfterMs: 0 });
  });

  it("drops expired entries nobody reads again", async () => {
    const store = open();
    for (let i = 0; i < 100; i += 1) await store.putValue(`v${i}`, "x", 1_000);
    await store.putValue("kept", "x", 10_000);
    time += 1_000;
    expect(store.size).toBe(101);
    expect(store.sweep()).toBe(100);
    expect(store.size).toBe(1);
  });

  it("sweeps on a timer", async () => {
    vi.useFakeTimers();
    const store = open(1_000);
    await store.putValue("v", "x", 500);
    time += 500;
    vi.advanceTimersByTime(1_000);
    expect(store.size).toBe(0);
  });
});
