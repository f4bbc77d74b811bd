import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt, SignJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { developmentCredentials, developmentSecretFile } from "../../src/auth/developmentCredentials.js";
import { setUpAuth } from "../../src/auth/authSetup.js";
import { createTokenVerifier, secretKey } from "../../src/auth/tokenVerifier.js";
import { Unauthenticated } from "../../src/errors/domainError.js";

const claims = { issuer: "onetime", audience: "onetime", rolesClaim: "roles", serviceRole: "service", adminRole: "admin" };

describe("development credentials", () => {
  let parent: string;
  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), "onetime-devauth-"));
  });
  afterEach(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it("keeps the signing secret beside the PGlite data, so tokens printed by an earlier start keep working", async () => {
    const dataDir = join(parent, "pgdata");
    const first = await developmentCredentials(claims, dataDir);
    const second = await developmentCredentials(claims, dataDir);
    expect(second.secret).toBe(first.secret);
    const verifier = createTokenVerifier(secretKey(second.secret), claims);
    await expect(verifier.verify(first.serviceToken)).resolves.toMatchObject({ principal: { kind: "service" } });
    expect((await stat(developmentSecretFile(dataDir))).mode & 0o777).toBe(0o600);
  });

  it("makes tokens that last a working week and more, not hours", async () => {
    const { adminToken } = await developmentCredentials(claims, join(parent, "pgdata"));
    const { exp, iat } = decodeJwt(adminToken);
    expect(exp! - iat!).toBeGreaterThanOrEqual(7 * 24 * 3600);
  });

  it("keeps nothing on disk for in-memory data", async () => {
    const first = await developmentCredentials(claims, "memory://");
    const second = await developmentCredentials(claims, "memory://");
    expect(second.secret).not.toBe(first.secret);
  });

  describe("refusing a stale printed token", () => {
    const setUp = (dataDir: string) => setUpAuth({ mode: "development", claims, tokenCacheSize: 100 }, dataDir);

    it("says it was signed by another development secret, such as another data directory's", async () => {
      const other = await setUp(join(parent, "other", "pgdata"));
      const current = await setUp(join(parent, "pgdata"));
      const refusal = await current.verifier.verify(other.development!.serviceToken).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(Unauthenticated);
      expect((refusal as Unauthenticated).message).toMatch(/signed by another development secret.*another data directory.*export lines this start printed/);
    });

    it("says it has expired, and how long development tokens last", async () => {
      const current = await setUp(join(parent, "pgdata"));
      const expired = await new SignJWT({ roles: ["service"] })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("development-service")
        .setIssuer(claims.issuer)
        .setAudience(claims.audience)
        .setIssuedAt(Math.floor(Date.now() / 1000) - 31 * 24 * 3600)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 24 * 3600)
        .sign(secretKey(current.development!.secret));
      const refusal = await current.verifier.verify(expired).catch((error: unknown) => error);
      expect(refusal).toMatchObject({ reason: "TOKEN_EXPIRED" });
      expect((refusal as Unauthenticated).message).toMatch(/expired \(development tokens last 30 days\)/);
    });

    it("keeps the plain wording outside development mode", async () => {
      const other = await setUp(join(parent, "other", "pgdata"));
      const verifier = createTokenVerifier(secretKey("x".repeat(40)), claims);
      await expect(verifier.verify(other.development!.serviceToken)).rejects.toThrow("bearer token is not valid");
    });
  });
});
