import { describe, expect, it } from "vitest";
import { onceEvery } from "../../src/observability/onceEvery.js";

describe("onceEvery", () => {
  it("says yes to each key once per interval, and again after it", () => {
    let now = 0;
    const firstTime = onceEvery(1_000, 10, () => now);
    expect([firstTime("a"), firstTime("a"), firstTime("b"), firstTime("a")]).toEqual([true, false, true, false]);
    now = 999;
    expect(firstTime("a")).toBe(false);
    now = 1_000;
    expect([firstTime("a"), firstTime("a")]).toEqual([true, false]);
  });

  it("says yes to at most maxKeys keys per interval, so made-up keys cannot flood the log", () => {
    let now = 0;
    const firstTime = onceEvery(1_000, 3, () => now);
    const answers = Array.from({ length: 100 }, (_, index) => firstTime(`https://bot${index}.example`));
    expect(answers.filter(Boolean)).toHaveLength(3);
    now = 1_000;
    expect(firstTime("https://bot99.example")).toBe(true);
  });
});
