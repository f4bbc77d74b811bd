import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestInbox, TestMessage } from "../../src/delivery/testInbox.js";
import { MemoryTestInbox } from "../../src/storage/memory/memoryTestInbox.js";
import { RedisTestInbox } from "../../src/storage/redis/redisTestInbox.js";
import type { RedisClient } from "../../src/storage/redis/redisClient.js";
import { connectTestRedis, deleteKeysWithPrefix, uniqueTestPrefix } from "../support/redis.js";

const message = (destination: string, text: string, createTime = new Date()): TestMessage => ({
  kind: "email",
  destination,
  subject: "Your code",
  text,
  data: {},
  createTime,
  outcome: "delivered",
  attempt: 1,
});

let redis: RedisClient;
const prefix = uniqueTestPrefix("test-inbox");
beforeAll(async () => {
  redis = await connectTestRedis();
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

let instance = 0;
const inboxes: Record<string, () => TestInbox> = {
  memory: () => new MemoryTestInbox(),
  redis: () => new RedisTestInbox(redis, `${prefix}${++instance}:`),
};

describe.each(Object.keys(inboxes))("test inbox (%s)", (name) => {
  it("lists newest first, by destination or all, at most the limit", async () => {
    const inbox = inboxes[name]!();
    await inbox.add(message("a@test.example", "one"));
    await inbox.add(message("b@test.example", "two"));
    await inbox.add(message("a@test.example", "three"));
    expect((await inbox.list("a@test.example", 10)).map((each) => each.text)).toEqual(["three", "one"]);
    expect((await inbox.list(undefined, 2)).map((each) => each.text)).toEqual(["three", "two"]);
    expect(await inbox.list("c@test.example", 10)).toEqual([]);
  });

  it("gives back what was kept, push data and time included", async () => {
    const inbox = inboxes[name]!();
    const kept: TestMessage = { ...message("test-device-1", "body"), kind: "push", data: { token: "abc" }, createTime: new Date(Date.now() - 1_234) };
    await inbox.add(kept);
    expect(await inbox.list("test-device-1", 1)).toEqual([kept]);
  });

  it("counts the attempts of each message apart", async () => {
    const inbox = inboxes[name]!();
    expect(await inbox.countAttempt("m1")).toBe(1);
    expect(await inbox.countAttempt("m1")).toBe(2);
    expect(await inbox.countAttempt("m2")).toBe(1);
  });
});
