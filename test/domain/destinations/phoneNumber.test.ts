import { describe, expect, it } from "vitest";
import { normalisePhoneNumber, type CountryCode } from "../../../src/domain/destinations/phoneNumber.js";

describe("normalisePhoneNumber", () => {
  it.each<[string, CountryCode | undefined, string]>([
    ["+1 (415) 555-2671", undefined, "+14155552671"],
    ["+1 201-555-0123", undefined, "+12015550123"],
    ["(201) 555-0123", "US", "+12015550123"],
    ["+44 20 7946 0018", undefined, "+442079460018"],
    ["020 7946 0018", "GB", "+442079460018"],
    ["0044 20 7946 0018", "GB", "+442079460018"],
    ["+33 6 12 34 56 78", undefined, "+33612345678"],
    ["06.12.34.56.78", "FR", "+33612345678"],
    ["+49 30 123456", undefined, "+4930123456"],
    ["+81 3-1234-5678", undefined, "+81312345678"],
    ["+61 2 9374 4000", undefined, "+61293744000"],
    ["+91 98765 43210", undefined, "+919876543210"],
    ["  +14155552671  ", undefined, "+14155552671"],
    ["+44 20 7946 0018", "US", "+442079460018"],
  ])("accepts %j (default country %s) as %s", (input, country, e164) => {
    expect(normalisePhoneNumber(input, country)).toEqual({ ok: true, e164 });
  });

  it.each<[string, CountryCode | undefined, RegExp]>([
    ["", undefined, /empty/],
    ["   ", undefined, /empty/],
    ["abc", undefined, /only have digits/],
    ["1-800-FLOWERS", "US", /only have digits/],
    ["+1 201 555 0123 ext 5", undefined, /only have digits/],
    ["++12015550123", undefined, /only have digits/],
    ["+1 201 555 0123+", undefined, /only have digits/],
    ["+12345", undefined, /too short/],
    ["+1 2", undefined, /too short/],
    ["+1 201 555 01234", undefined, /too long/],
    ["+33 6 12 34 56 78 9", undefined, /too long/],
    ["+1".padEnd(60, "2"), undefined, /too long/],
    // Right length, but no such area code / range: only the max metadata knows.
    ["+1 415 123 4567", undefined, /not in use/],
    ["+1 555 555 5555", undefined, /not in use/],
    ["+44 7700 900123", undefined, /not in use/],
    ["4155552671", undefined, /country code/],
    ["+00 1 23", undefined, /country code/],
  ])("refuses %j (default country %s)", (input, country, reason) => {
    const result = normalisePhoneNumber(input, country);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});
