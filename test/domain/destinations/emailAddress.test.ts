import { describe, expect, it } from "vitest";
import { isValidEmailAddress, normaliseEmailAddress } from "../../../src/domain/destinations/emailAddress.js";

const local64 = "a".repeat(64);
const label63 = "b".repeat(63);
/** 254 characters: 64 + "@" + 63 + "." + 63 + "." + 58 + ".io" */
const longest = `${local64}@${label63}.${label63}.${"c".repeat(58)}.io`;

describe("isValidEmailAddress", () => {
  it("takes the longest address RFC 5321 allows, and not one more character", () => {
    expect(longest).toHaveLength(254);
    expect(isValidEmailAddress(longest)).toBe(true);
    expect(isValidEmailAddress(`${longest.slice(0, -3)}x.io`)).toBe(false);
  });

  it.each([
    "alice@example.org",
    "Alice.Smith@Example.ORG",
    "alice+otp@mail.example.co.uk",
    "o'brien@example.ie",
    "x@example.io",
    "a!#$%&'*+/=?^_`{|}~-z@example.com",
    "first.middle.last@sub-domain.example.com",
    "user@xn--bcher-kva.example",
    `${local64}@example.com`,
    longest,
  ])("accepts %j", (address) => {
    expect(isValidEmailAddress(address)).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["no @", "alice.example.org"],
    ["two @", "alice@bob@example.org"],
    ["nothing before @", "@example.org"],
    ["nothing after @", "alice@"],
    ["a space", "alice smith@example.org"],
    ["a space in the domain", "alice@exam ple.org"],
    ["a tab", "alice\t@example.org"],
    ["surrounding spaces", " alice@example.org "],
    ["a header injection", "alice@example.org\r\nBcc: eve@example.net"],
    ["a bare line feed", "alice@example.org\nBcc: eve@example.net"],
    ["a trailing CRLF", "alice@example.org\r\n"],
    ["a NUL", "alice\u0000@example.org"],
    ["a local part over 64", `${local64}a@example.com`],
    ["over 254 characters", `${local64}@${label63}.${label63}.${"c".repeat(59)}.io`],
    ["a label over 63", `alice@${label63}b.com`],
    ["a leading dot", ".alice@example.org"],
    ["a trailing dot in the local part", "alice.@example.org"],
    ["two dots in a row", "al..ice@example.org"],
    ["a quoted local part", '"alice smith"@example.org'],
    ["a display name", "Alice <alice@example.org>"],
    ["angle brackets", "<alice@example.org>"],
    ["a comma list", "alice@example.org,eve@example.net"],
    ["a domain without a dot", "alice@localhost"],
    ["a domain literal", "alice@[192.0.2.1]"],
    ["an IPv4 address as domain", "alice@192.0.2.1"],
    ["a domain with a trailing dot", "alice@example.org."],
    ["a domain with an empty label", "alice@example..org"],
    ["a hyphen at a label's edge", "alice@-example.org"],
    ["an underscore in the domain", "alice@ex_ample.org"],
    ["a non-ASCII local part", "jösé@example.org"],
  ])("refuses %s", (_why, address) => {
    expect(isValidEmailAddress(address)).toBe(false);
  });
});

describe("normaliseEmailAddress", () => {
  it("trims, lowercases the domain and keeps the local part as typed", () => {
    expect(normaliseEmailAddress("  Alice.Smith@Example.ORG \n")).toEqual({ ok: true, address: "Alice.Smith@example.org" });
  });

  it("converts an internationalised domain to its ASCII form", () => {
    expect(normaliseEmailAddress("alice@Bücher.example")).toEqual({ ok: true, address: "alice@xn--bcher-kva.example" });
  });

  it.each([
    ["", "email address is empty"],
    ["alice.example.org", "email address has no @"],
    ["alice@bob@example.org", "email address has more than one @"],
    ["alice smith@example.org", "email address contains spaces"],
    ["alice@example.org\r\nBcc: eve@example.net", "email address contains control characters"],
    [`${"a".repeat(65)}@example.com`, "email address has a local part over 64 characters"],
    [`a@${"b".repeat(250)}.com`, "email address is too long"],
    ["alice@localhost", "email address has an invalid domain"],
  ])("says why %j is refused", (input, reason) => {
    expect(normaliseEmailAddress(input)).toEqual({ ok: false, reason });
  });

  it("gives back addresses isValidEmailAddress accepts", () => {
    for (const input of ["ALICE@EXAMPLE.ORG", " bob@bücher.example", "c+d@Sub.Example.com"]) {
      const result = normaliseEmailAddress(input);
      expect(result.ok && isValidEmailAddress(result.address)).toBe(true);
    }
  });
});
