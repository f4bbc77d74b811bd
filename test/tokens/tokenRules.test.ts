import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { maskDestination } from "../../src/domain/profileTokens/masking.js";
import { problemsOf } from "../support/configProblems.js";


describe("TokenService configuration", () => {
  it("defaults: 10 minutes for every operation (NIST SP 800-63B's most for out-of-band codes), 5 attempts, masked, nothing switched off, no public requests", () => {
    const { tokens } = loadConfig({});
    expect(new Set(Object.values(tokens.ttlMs))).toEqual(new Set([600_000]));
    expect(tokens).toMatchObject({ maxAttempts: 5, maskDestinations: true, publicRequests: false, codes: { email: { length: 6 }, sms: { length: 6 } } });
    expect(tokens.disabled.size).toBe(0);
  });

  it("takes expiry per operation, switched-off operations and code shapes per channel", () => {
    const { tokens } = loadConfig({
      TOKEN_TTL_OVERRIDES: "login=300, password_recovery=480",
      TOKEN_DISABLED_OPERATIONS: "login,anti_phishing_code",
      TOKEN_SMS_CODE_LENGTH: "8",
      TOKEN_EMAIL_CODE_SYMBOLS: "digits,uppercase",
    });
    expect(tokens.ttlMs).toMatchObject({ login: 300_000, password_recovery: 480_000, key_change: 600_000 });
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
      "TOKEN_TTL_OVERRIDES: login needs 1 to 600 seconds (OUT_OF_BAND_CODE_MAX_TTL_SECONDS)",
      expect.stringMatching(/^TOKEN_DISABLED_OPERATIONS: "password_change" is not a switchable operation \(login, key_recovery, anti_phishing_code, mfa_disable\)/),
      "TOKEN_EMAIL_CODE_SYMBOLS: emoji not among digits, lowercase, uppercase",
      expect.stringMatching(/^TOKEN_SMS_CODE_LENGTH: gives 13\.3 bits; at least 20 are needed/),
    ]);
  });
});

describe("how long an OTT may live", () => {
  it("refuses a TTL past OUT_OF_BAND_CODE_MAX_TTL_SECONDS, 600 unless raised, by default or per operation", () => {
    expect(problemsOf({ TOKEN_TTL_SECONDS: "1800" })).toEqual(["TOKEN_TTL_SECONDS: must not exceed OUT_OF_BAND_CODE_MAX_TTL_SECONDS (600)"]);
    expect(problemsOf({ TOKEN_TTL_OVERRIDES: "password_recovery=86400" })).toEqual([
      "TOKEN_TTL_OVERRIDES: password_recovery needs 1 to 600 seconds (OUT_OF_BAND_CODE_MAX_TTL_SECONDS)",
    ]);
    // Longer only when the operator says so, by the setting that names the guidance it goes past.
    const { tokens } = loadConfig({ OUT_OF_BAND_CODE_MAX_TTL_SECONDS: "1800", TOKEN_TTL_SECONDS: "1800", TOKEN_TTL_OVERRIDES: "login=300" });
    expect(tokens.ttlMs).toMatchObject({ registration: 1_800_000, login: 300_000 });
  });

  it("bounds verification codes by the same setting, and refuses the VERIFICATION_MAX_TTL_SECONDS that allowed a day", () => {
    expect(loadConfig({}).verification).toMatchObject({ defaultTtlMs: 600_000, maxTtlMs: 600_000 });
    expect(loadConfig({ OUT_OF_BAND_CODE_MAX_TTL_SECONDS: "3600" }).verification.maxTtlMs).toBe(3_600_000);
    expect(problemsOf({ VERIFICATION_TTL_SECONDS: "900" })).toEqual(["VERIFICATION_TTL_SECONDS: must not exceed OUT_OF_BAND_CODE_MAX_TTL_SECONDS (600)"]);
    expect(problemsOf({ VERIFICATION_MAX_TTL_SECONDS: "86400" })).toEqual([expect.stringMatching(/^VERIFICATION_MAX_TTL_SECONDS: removed; unset it\. OUT_OF_BAND_CODE_MAX_TTL_SECONDS/)]);
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
