import { generate, ScureBase32Plugin } from "otplib";
import { describe, expect, it } from "vitest";
import { checkTotp, newTotpSecret, totpUri } from "../../../src/domain/totp/totp.js";

const base32 = new ScureBase32Plugin();
/** RFC 6238 appendix B's SHA1 key, ASCII "12345678901234567890". */
const rfcSecret = base32.encode(new TextEncoder().encode("12345678901234567890"));
const period = 30;

/** The code for a time step, from otplib directly (what an authenticator app shows). */
async function codeAt(step: number, secret = rfcSecret): Promise<string> {
  return generate({ secret, epoch: step * period, algorithm: "sha1", digits: 6, period });
}

/** A moment inside a step, in milliseconds. */
function during(step: number, secondsIn = 10): number {
  return (step * period + secondsIn) * 1000;
}

describe("checkTotp", () => {
  // RFC 6238 appendix B, SHA1, truncated to 6 digits (the low 6 of the 8-digit values).
  it.each([
    [59, "287082", 1],
    [1111111109, "081804", 37037036],
    [1111111111, "050471", 37037037],
    [1234567890, "005924", 41152263],
    [2000000000, "279037", 66666666],
    [20000000000, "353130", 666666666],
  ])("accepts the RFC 6238 vector at t=%i (%s) with its time step", async (seconds, code, step) => {
    expect(await checkTotp({ secret: rfcSecret, code, nowMs: seconds * 1000 })).toEqual({ valid: true, timeStep: step });
  });

  it("accepts the codes of one step either side and refuses two steps away", async () => {
    const step = 50_000_000;
    const code = await codeAt(step);
    expect(await checkTotp({ secret: rfcSecret, code, nowMs: during(step - 1) })).toEqual({ valid: true, timeStep: step });
    expect(await checkTotp({ secret: rfcSecret, code, nowMs: during(step) })).toEqual({ valid: true, timeStep: step });
    expect(await checkTotp({ secret: rfcSecret, code, nowMs: during(step + 1, 29) })).toEqual({ valid: true, timeStep: step });
    expect(await checkTotp({ secret: rfcSecret, code, nowMs: during(step - 2, 29) })).toEqual({ valid: false, reason: "wrong_code" });
    expect(await checkTotp({ secret: rfcSecret, code, nowMs: during(step + 2, 0) })).toEqual({ valid: false, reason: "wrong_code" });
  });

  it("refuses a code whose step was already used, as a replay", async () => {
    const step = 50_000_000;
    const code = await codeAt(step);
    const first = await checkTotp({ secret: rfcSecret, code, nowMs: during(step) });
    expect(first).toEqual({ valid: true, timeStep: step });
    expect(await checkTotp({ secret: rfcSecret, code, nowMs: during(step, 20), afterTimeStep: step })).toEqual({ valid: false, reason: "replayed" });
  });

  it("refuses an older step once a newer one was used, and accepts a newer one", async () => {
    const step = 50_000_000;
    expect(await checkTotp({ secret: rfcSecret, code: await codeAt(step - 1), nowMs: during(step), afterTimeStep: step })).toEqual({
      valid: false,
      reason: "replayed",
    });
    expect(await checkTotp({ secret: rfcSecret, code: await codeAt(step + 1), nowMs: during(step), afterTimeStep: step })).toEqual({
      valid: true,
      timeStep: step + 1,
    });
    expect(await checkTotp({ secret: rfcSecret, code: await codeAt(step), nowMs: during(step), afterTimeStep: null })).toEqual({
      valid: true,
      timeStep: step,
    });
  });

  it("answers rather than throws when the used step is ahead of this clock", async () => {
    const step = 50_000_000;
    const code = await codeAt(step);
    expect(await checkTotp({ secret: rfcSecret, code, nowMs: during(step), afterTimeStep: step + 1 })).toEqual({ valid: false, reason: "replayed" });
    expect(await checkTotp({ secret: rfcSecret, code, nowMs: during(step), afterTimeStep: step + 10 })).toEqual({ valid: false, reason: "replayed" });
    expect(await checkTotp({ secret: rfcSecret, code: "000000", nowMs: during(step), afterTimeStep: step + 10 })).toMatchObject({ valid: false });
  });

  it("calls a wrong code wrong even when a step was used", async () => {
    const step = 50_000_000;
    const right = await codeAt(step);
    const wrong = right === "123456" ? "654321" : "123456";
    expect(await checkTotp({ secret: rfcSecret, code: wrong, nowMs: during(step), afterTimeStep: step - 5 })).toEqual({ valid: false, reason: "wrong_code" });
  });

  it.each(["", "12345", "1234567", "12345a", " 287082", "287 082", "２８７０８２"])("refuses the malformed code %j without throwing", async (code) => {
    expect(await checkTotp({ secret: rfcSecret, code, nowMs: 59_000 })).toEqual({ valid: false, reason: "wrong_code" });
  });
});

describe("newTotpSecret", () => {
  it("is base32 of at least 20 random bytes", () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]+$/);
    expect(base32.decode(secret).length).toBeGreaterThanOrEqual(20);
    expect(newTotpSecret()).not.toBe(secret);
  });

  it("works with the codes an app derives from it", async () => {
    const secret = newTotpSecret();
    const step = 60_000_000;
    expect(await checkTotp({ secret, code: await codeAt(step, secret), nowMs: during(step) })).toEqual({ valid: true, timeStep: step });
  });
});

describe("totpUri", () => {
  it("names issuer, label, secret, SHA1, 6 digits and 30 s", () => {
    const secret = newTotpSecret();
    const uri = new URL(totpUri({ issuer: "ACME Co", label: "ada@example.com", secret }));
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe("/ACME Co:ada@example.com");
    expect(Object.fromEntries(uri.searchParams)).toEqual({ secret, issuer: "ACME Co", algorithm: "SHA1", digits: "6", period: "30" });
  });

  it("leaves the issuer out cleanly when there is none", () => {
    const secret = newTotpSecret();
    const text = totpUri({ issuer: "", label: "account-42", secret });
    const uri = new URL(text);
    expect(decodeURIComponent(uri.pathname)).toBe("/account-42");
    expect(uri.searchParams.has("issuer")).toBe(false);
    expect(text).toBe(`otpauth://totp/account-42?secret=${secret}&algorithm=SHA1&digits=6&period=30`);
  });
});
