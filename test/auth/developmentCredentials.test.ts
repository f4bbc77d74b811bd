import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { developmentCredentials, developmentSecretFile } from "../../src/auth/developmentCredentials.js";
import { createTokenVerifier, secretKey } from "../../src/auth/tokenVerifier.js";

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
});
