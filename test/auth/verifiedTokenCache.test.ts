import { describe, expect, it } from "vitest";
import { createTokenVerifier, secretKey, type TokenVerifier } from "../../src/auth/tokenVerifier.js";
import { cachingTokenVerifier } from "../../src/auth/verifiedTokenCache.js";
import { Unauthenticated } from "../../src/errors/domainError.js";
import { signToken, testClaims, testJwtSecret } from "../support/tokens.js";

const claims = { ...testClaims, rolesClaim: "roles", serviceRole: "service", adminRole: "admin" };

/** The real verifier, counting how often the signature check actually runs. */
function countingVerifier(): { verifier: TokenVerifier; checks: () => number } {
  const real = createTokenVerifier(secretKey(testJwtSecret), claims);
  let checks = 0;
  return {
    verifier: {
      verify(token) {
        checks++;
        return real.verify(token);
      },
    },
    checks: () => checks,
  };
}

function setUp(maxEntries = 100, maxAgeMs = 60_000) {
  const clock = { now: Date.now() };
  const counting = countingVerifier();
  const cached = cachingTokenVerifier(counting.verifier, { maxEntries, maxAgeMs, now: () => clock.now });
  return { clock, cached, checks: counting.checks };
}

describe("the verified-token cache", () => {
  it("checks a repeated token's signature once and answers the same principal", async () => {
    const { cached, checks } = setUp();
    const token = await signToken({ subject: "billing", roles: ["service"] });
    const first = await cached.verify(token);
    const again = await Promise.all(Array.from({ length: 20 }, () => cached.verify(token)));
    expect(checks()).toBe(1);
    expect(first.principal).toEqual({ kind: "service", subject: "billing" });
    for (const answer of again) expect(answer).toEqual(first);
  });

  it("keys by the whole token: a different token is checked on its own", async () => {
    const { cached, checks } = setUp();
    const admin = await signToken({ subject: "ops", roles: ["admin"] });
    const user = await signToken({ subject: "u-1" });
    expect((await cached.verify(admin)).principal.kind).toBe("admin");
    expect((await cached.verify(user)).principal).toEqual({ kind: "user", subject: "u-1" });
    expect(checks()).toBe(2);
  });

  it("never remembers a refusal", async () => {
    const { cached, checks } = setUp();
    const forged = await signToken({ roles: ["admin"], secret: "another-secret-that-is-at-least-32-chars" });
    await expect(cached.verify(forged)).rejects.toBeInstanceOf(Unauthenticated);
    await expect(cached.verify(forged)).rejects.toBeInstanceOf(Unauthenticated);
    expect(checks()).toBe(2);
  });

  it("stops trusting a token at its exp, and the full check then refuses it", async () => {
    const { clock, cached, checks } = setUp();
    const expiresAt = Math.floor(clock.now / 1000) + 30;
    const token = await signToken({ roles: ["service"], expiresAt });
    await cached.verify(token);
    clock.now = expiresAt * 1000 - 1;
    await cached.verify(token);
    expect(checks()).toBe(1);

    clock.now = expiresAt * 1000;
    // The inner verifier checks again (on the wall clock, where the token is still valid) ...
    await cached.verify(token);
    expect(checks()).toBe(2);
    // ... but what it answers is not remembered past exp: every later call is checked in full.
    await cached.verify(token);
    expect(checks()).toBe(3);
  });

  it("re-checks a long-lived token after the maximum age", async () => {
    const { clock, cached, checks } = setUp(100, 60_000);
    const token = await signToken({ roles: ["service"] });
    const start = clock.now;
    await cached.verify(token);
    clock.now = start + 59_999;
    await cached.verify(token);
    expect(checks()).toBe(1);
    clock.now = start + 60_000;
    await cached.verify(token);
    expect(checks()).toBe(2);
    clock.now = start + 60_001;
    await cached.verify(token);
    expect(checks()).toBe(2);
  });

  it("holds at most maxEntries tokens, dropping the least recently used", async () => {
    const { cached, checks } = setUp(2);
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((subject) => signToken({ subject })));
    await cached.verify(a!);
    await cached.verify(b!);
    await cached.verify(a!); // a is now the most recently used
    await cached.verify(c!); // evicts b
    expect(checks()).toBe(3);
    await cached.verify(a!);
    expect(checks()).toBe(3);
    await cached.verify(b!);
    expect(checks()).toBe(4);
  });
});
