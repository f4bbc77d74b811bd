import { describe, expect, it } from "vitest";
import { expiresInMinutes } from "../../src/domain/expiresInMinutes.js";

/** Every message (codes, pushed tokens, factor-change reports) shows a lifetime the same way. */
describe("the minutes a message says it works", () => {
  it("rounds to the nearest minute, as codes always have", () => {
    expect(expiresInMinutes(600_000)).toBe(10);
    expect(expiresInMinutes(80_000)).toBe(1);
    expect(expiresInMinutes(90_000)).toBe(2);
    expect(expiresInMinutes(604_800_000)).toBe(10_080);
  });

  it("never says 0 while the code still works", () => {
    expect(expiresInMinutes(10_000)).toBe(1);
  });
});
