import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { maskDestination } from "../../src/domain/profileTokens/masking.js";
import { problemsOf } from "../support/configProblems.js";


describe("TokenService configuration", () => {
  it("defaults: 30 minutes for every operation, 5 attempts, masked, nothing switched off, no public requests", () => {
    const { tokens } = loadConfig({});
    expect(new Set(Object.values(tokens.ttlMs))).toEqual(new Set([1_800_000]));
    expect(tokens).toMatchObject({ maxAttempts: 5, maskDestinations: true, publicRequests: false, codes: { email: { length: 6 }, sms: { length: 6 } } });
    expect(tokens.disabled.size).toBe(0);
  });

  it("takes expiry per operation, switched-off operations and code shapes per channel", () => {
    const { tokens } = loadConfig({
      TOKEN_TTL_OVERRIDES: "login=300, password_recovery=900",
      TOKEN_DISABLED_OPERATIONS: "login,anti_phishing_code",
      TOKEN_SMS_CODE_LENGTH: "8",
      TOKEN_EMAIL_CODE_SYMBOLS: "digits,uppercase",
    });
    expect(tokens.ttlMs).toMatchObject({ login: 300_000, password_recovery: 900_000, key_change: 1_800_000 });
    expect([...tokens.disabled].sort()).toEqual(["anti_phishing_code", "login"]);
    expect(tokens.codes).toEqual({ email: { length: 6, symbolSets: ["digits", "uppercase"] }, sms: { length: 8, symbolSets: ["digits"] } });
  });

  it("names every bad TOKEN_* value: unknown or unswitchable operations, bad seconds, weak or unknown code shapes", () => {
    expect(
      problemsOf({
        TOKEN_TTL_OVERRIDES: "logon=300,login=0",
        TOKEN_DISABLED_OPERATIONS: "password_change",
        TOKEN_SMS_CODE_LENGTH: "4",
        TOKEN_EMAIL_CODE_SYMBOLS: "emoji",
      }),
    ).toEqual([
      expect.stringMatching(/^TOKEN_TTL_OVERRIDES: "logon" is not an operation/),
      "TOKEN_TTL_OVERRIDES: login needs 1 to 604800 seconds",
      expect.stringMatching(/^TOKEN_DISABLED_OPERATIONS: "password_change" is not a switchable operation \(login, key_recovery, anti_phishing_code, mfa_disable\)/),
      "TOKEN_EMAIL_CODE_SYMBOLS: emoji not among digits, lowercase, uppercase",
      expect.stringMatching(/^TOKEN_SMS_CODE_LENGTH: gives 13\.3 bits; at least 20 are needed/),
    ]);
  });
});

describe("masked destinations", () => {
  it("show an email's first character and domain, and a phone number's country digit and last four", () => {
    expect(maskDestination({ type: "email", value: "jane.doe@example.com" })).toBe("j***@example.com");
    expect(maskDestination({ type: "email", value: "j@example.com" })).toBe("j***@example.com");
    expect(maskDestination({ type: "phone", value: "+14155556789" })).toBe("+1******6789");
    expect(maskDestination({ type: "phone", value: "+442079460958" })).toBe("+4*******0958");
  });

  it("never show more than half of a short number", () => {
    const masked = maskDestination({ type: "phone", value: "+2901234" });
    expect(masked).toBe("+2****34");
    expect(masked.replace(/[+*]/g, "").length).toBeLessThanOrEqual(7 / 2);
  });
});
