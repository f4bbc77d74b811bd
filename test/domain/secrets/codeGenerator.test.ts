import { describe, expect, it } from "vitest";
import { generateCode } from "../../../src/domain/secrets/codeGenerator.js";
import { InvalidArgument } from "../../../src/errors/domainError.js";

describe("code generator", () => {
  it("makes 6 digits by default", () => {
    for (let i = 0; i < 100; i++) expect(generateCode()).toMatch(/^\d{6}$/);
  });

  it("draws from the requested sets, each character roughly uniformly", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2_000; i++) {
      for (const character of generateCode({ length: 31, symbolSets: ["lowercase", "uppercase", "digits"] })) {
        counts.set(character, (counts.get(character) ?? 0) + 1);
      }
    }
    expect(counts.size).toBe(62);
    const expected = (2_000 * 31) / 62;
    for (const count of counts.values()) expect(Math.abs(count - expected) / expected).toBeLessThan(0.15);
  });

  it("refuses shapes too weak or too long, naming the field", () => {
    for (const spec of [{ length: 4 }, { length: 5, symbolSets: ["digits"] as const }, { length: 3, symbolSets: ["uppercase"] as const }, { length: 65 }]) {
      expect(() => generateCode(spec)).toThrow(InvalidArgument);
    }
    expect(generateCode({ length: 4, symbolSets: ["digits", "uppercase"] })).toMatch(/^[0-9A-Z]{4}$/);
  });
});
