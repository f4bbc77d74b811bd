import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { StoreWork } from "../../src/domain/storeWork.js";
import { asDependencyFailure } from "../../src/errors/dependencyFailure.js";
import { RedisDeadlinePassed, withinDeadline } from "../../src/storage/workDeadline.js";

const never = () => new Promise<never>(() => {});
const budgetMs = 50;

/** One budget for the Redis commands of one piece of work, its undo included (see src/storage/workDeadline.ts). */
describe("a piece of work's Redis deadline", () => {
  // The first command of a work is bounded by the client's own timeout, which is the budget.
  const timedOut = () => new Promise<never>((_, reject) => setTimeout(() => reject(new Error("Command timed out")), budgetMs));

  it("answers a later command that outlives what is left of the budget with RedisDeadlinePassed, which callers answer unavailable", async () => {
    const work = new StoreWork();
    await withinDeadline(work, budgetMs, async () => "admitted");
    const error = await withinDeadline(work, budgetMs, never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisDeadlinePassed);
    expect(asDependencyFailure(error)).toMatchObject({ kind: "unavailable" });
  });

  it("gives the undo what is left of the budget, and once it is spent sends nothing more", async () => {
    const work = new StoreWork();
    const sent: string[] = [];
    const command = (name: string, answer: () => Promise<string>) => withinDeadline(work, budgetMs, () => (sent.push(name), answer()));
    await command("admit", async () => "admitted");
    const put = await command("put", never).catch((error: unknown) => error);
    const revoke = await command("revoke", async () => "revoked").catch((error: unknown) => error);
    const refund = await command("refund", async () => "refunded").catch((error: unknown) => error);
    expect([put, revoke, refund].map((outcome) => outcome instanceof RedisDeadlinePassed)).toEqual([true, true, true]);
    expect(sent).toEqual(["admit", "put"]);
  });

  it("leaves the undo of a first command that timed out no more than what is left, a moment at most", async () => {
    const work = new StoreWork();
    const started = performance.now();
    const put = await withinDeadline(work, budgetMs, timedOut).catch((error: unknown) => error);
    expect(put).toMatchObject({ message: "Command timed out" });
    const revoke = await withinDeadline(work, budgetMs, never).catch((error: unknown) => error);
    expect(revoke).toBeInstanceOf(RedisDeadlinePassed);
    // A bound, not a speed: the undo had what was left of 50 ms, not 50 ms more.
    expect(performance.now() - started).toBeLessThan(budgetMs * 2);
  });

  it("counts every command of the work against one budget, from its first command on", async () => {
    const work = new StoreWork();
    expect(await withinDeadline(work, budgetMs, async () => "admitted")).toBe("admitted");
    // Postgres, a provider: the clock runs on between the work's commands.
    await sleep(budgetMs + 30);
    expect(await withinDeadline(work, budgetMs, async () => "late").catch((error: unknown) => error)).toBeInstanceOf(RedisDeadlinePassed);
  });

  it("starts with the work's first Redis command, not when the work was made", async () => {
    const work = new StoreWork();
    // A CAPTCHA provider, Postgres: not Redis's time.
    await sleep(budgetMs + 30);
    expect(await withinDeadline(work, budgetMs, async () => "stored")).toBe("stored");
  });

  it("gives each piece of work its own budget, and leaves a command of no work alone", async () => {
    const spent = new StoreWork();
    await withinDeadline(spent, budgetMs, timedOut).catch(() => undefined);
    expect(await withinDeadline(new StoreWork(), budgetMs, async () => "another call")).toBe("another call");
    expect(await withinDeadline(undefined, budgetMs, async () => { await sleep(budgetMs + 30); return "relay"; })).toBe("relay");
  });

  it("leaves a command alone on a client made without a command timeout", async () => {
    expect(await withinDeadline(new StoreWork(), undefined, async () => { await sleep(budgetMs + 30); return "slow"; })).toBe("slow");
  });
});
