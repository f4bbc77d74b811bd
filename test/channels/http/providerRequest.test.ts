import { describe, expect, it } from "vitest";
import { parseRetryAfter, valueAtPath } from "../../../src/channels/http/providerRequest.js";

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");

  it.each<[string | null, number | undefined]>([
    ["0", 0],
    ["120", 120_000],
    [" 5 ", 5000],
    ["Wed, 01 Jan 2025 00:00:30 GMT", 30_000],
    ["Tue, 31 Dec 2024 23:59:00 GMT", 0],
    ["soon", undefined],
    ["-5", undefined],
    ["1.5", undefined],
    [null, undefined],
  ])("reads %j as %s ms", (header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });
});

describe("valueAtPath", () => {
  it("follows objects and arrays and stops at anything else", () => {
    const value = { a: { b: [{ c: "x" }] } };
    expect(valueAtPath(value, "a.b.0.c")).toBe("x");
    expect(valueAtPath(value, "a.missing.c")).toBeUndefined();
    expect(valueAtPath(value, "a.b.0.c.length")).toBeUndefined();
    expect(valueAtPath(value, "constructor")).toBeUndefined();
    expect(valueAtPath(undefined, "a")).toBeUndefined();
  });
});
