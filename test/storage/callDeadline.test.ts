import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { asDependencyFailure } from "../../src/errors/dependencyFailure.js";
import { RedisDeadlinePassed, withinRedisDeadline, withRedisDeadline } from "../../src/storage/callDeadline.js";

const never = () => new Promise<never>(() => {});

/** One budget for a call's Redis commands, its undo included (see src/storage/callDeadline.ts). */
describe("a call's Redis deadline", () => {
  it("answers a command that outlives the budget with RedisDeadlinePassed, which callers answer unavailable", async () => {
    const error = await withRedisDeadline(50, () => withinRedisDeadline(never)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisDeadlinePassed);
    expect(asDependencyFailure(error)).toMatchObject({ kind: "unavailable" });
  });

  it("gives the undo what is left of the budget, and once it is spent sends nothing more", async () => {
    const sent: string[] = [];
    const command = (name: string, answer: () => Promise<string>) => withinRedisDeadline(() => (sent.push(name), answer()));
    const outcomes = await withRedisDeadline(50, async () => {
      const put = await command("put", never).catch((error: unknown) => error);
      const revoke = await command("revoke", async () => "revoked").catch((error: unknown) => error);
      return [put, revoke];
    });
    expect(outcomes.map((outcome) => outcome instanceof RedisDeadlinePassed)).toEqual([true, true]);
    expect(sent).toEqual(["put"]);
  });

  it("starts with the call's first Redis command, not with the call", async () => {
    const answer = await withRedisDeadline(50, async () => {
      // Postgres, a CAPTCHA provider: not Redis's time.
      await sleep(80);
      return withinRedisDeadline(async () => "stored");
    });
    expect(answer).toBe("stored");
  });

  it("keeps the outer call's budget in a nested one, and leaves commands outside any call alone", async () => {
    const nested = await withRedisDeadline(50, async () => {
      await withinRedisDeadline(async () => "first");
      await sleep(80);
      return withRedisDeadline(10_000, () => withinRedisDeadline(async () => "late")).catch((error: unknown) => error);
    });
    expect(nested).toBeInstanceOf(RedisDeadlinePassed);
    expect(await withinRedisDeadline(async () => { await sleep(80); return "relay"; })).toBe("relay");
  });
});
